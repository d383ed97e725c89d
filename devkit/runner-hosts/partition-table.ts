// Where a disk image's root filesystem is: read from its GPT or MBR partition table (sfdisk is not
// installed everywhere the tests run). 512-byte sectors, as cloud images have.
import * as fs from "node:fs";

const SECTOR = 512;
/** Linux filesystem data, as GPT stores the GUID 0FC63DAF-8483-4772-8E79-3D69D8477DE4. */
const GPT_LINUX_FS = Buffer.from("af3dc60f838472478e793d69d8477de4", "hex");
/** BIOS boot and EFI system partitions: never the root filesystem. */
const GPT_NOT_ROOT = [
  Buffer.from("4861682149646f6e744e656564454649", "hex"),
  Buffer.from("28732ac11ff8d211ba4b00a0c93ec93b", "hex"),
];

export interface Partition {
  /** Byte offset in the disk. */
  offset: number;
  /** Length in bytes. */
  length: number;
  /** Whether the table marks it as a Linux filesystem (GPT type or MBR 0x83). */
  linux: boolean;
}

function read(fd: number, offset: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  const n = fs.readSync(fd, buf, 0, length, offset);
  return buf.subarray(0, n);
}

/**
 * The partitions of a raw disk image that may hold a filesystem (not EFI system or BIOS boot
 * ones); empty when it has no partition table (a bare filesystem).
 */
export function readPartitions(disk: string): Partition[] {
  const fd = fs.openSync(disk, "r");
  try {
    const mbr = read(fd, 0, SECTOR);
    if (mbr.length < SECTOR || mbr.readUInt16LE(510) !== 0xaa55) return [];
    const entries = [0, 1, 2, 3].map((i) => mbr.subarray(446 + 16 * i, 446 + 16 * (i + 1)));
    // A filesystem's boot sector can end in 55 AA too: only accept sane entries.
    const isGpt = entries.some((e) => e[4] === 0xee);
    if (isGpt) return readGpt(fd);
    const size = fs.fstatSync(fd).size;
    const parts: Partition[] = [];
    for (const e of entries) {
      const type = e[4];
      const start = e.readUInt32LE(8);
      const sectors = e.readUInt32LE(12);
      if (type === 0 || sectors === 0) continue;
      if (e[0] !== 0 && e[0] !== 0x80) return []; // not a partition table
      if ((start + sectors) * SECTOR > size) return [];
      parts.push({ offset: start * SECTOR, length: sectors * SECTOR, linux: type === 0x83 });
    }
    return parts;
  } finally {
    fs.closeSync(fd);
  }
}

function readGpt(fd: number): Partition[] {
  const header = read(fd, SECTOR, SECTOR);
  if (header.subarray(0, 8).toString("latin1") !== "EFI PART") return [];
  const entriesLba = Number(header.readBigUInt64LE(72));
  const count = header.readUInt32LE(80);
  const entrySize = header.readUInt32LE(84);
  if (entrySize < 128 || count > 1024) return [];
  const table = read(fd, entriesLba * SECTOR, count * entrySize);
  const parts: Partition[] = [];
  for (let i = 0; i + entrySize <= table.length; i += entrySize) {
    const type = table.subarray(i, i + 16);
    if (type.every((b) => b === 0)) continue;
    if (GPT_NOT_ROOT.some((t) => t.equals(type))) continue;
    const first = Number(table.readBigUInt64LE(i + 32));
    const last = Number(table.readBigUInt64LE(i + 40));
    if (last < first) continue;
    parts.push({
      offset: first * SECTOR,
      length: (last - first + 1) * SECTOR,
      linux: type.equals(GPT_LINUX_FS),
    });
  }
  return parts;
}

/** The root filesystem's partition: the largest Linux one, else the largest; null for none. */
export function rootPartition(disk: string): Partition | null {
  const parts = readPartitions(disk);
  if (parts.length === 0) return null;
  const linux = parts.filter((p) => p.linux);
  return (linux.length > 0 ? linux : parts).reduce((a, b) => (b.length > a.length ? b : a));
}

/** An MBR partition table with one Linux (0x83) partition: for building test images. */
export function mbrWithLinuxPartition(startSector: number, sectors: number): Buffer {
  const mbr = Buffer.alloc(SECTOR);
  const entry = 446;
  mbr[entry] = 0x00;
  mbr[entry + 4] = 0x83;
  mbr.writeUInt32LE(startSector, entry + 8);
  mbr.writeUInt32LE(sectors, entry + 12);
  mbr.writeUInt16LE(0xaa55, 510);
  return mbr;
}
