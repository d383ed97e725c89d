// Finding the root filesystem of a disk image: GPT, MBR, or none (a bare filesystem).
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  mbrWithLinuxPartition,
  readPartitions,
  rootPartition,
} from "../../devkit/runner-hosts/partition-table";

/** A GPT disk (protective MBR, header at LBA 1, entries at LBA 2) with the given partitions. */
function gptDisk(parts: { type: string; first: number; last: number }[], sectors: number): Buffer {
  const disk = Buffer.alloc(sectors * 512);
  disk[446 + 4] = 0xee;
  disk.writeUInt32LE(1, 446 + 8);
  disk.writeUInt32LE(sectors - 1, 446 + 12);
  disk.writeUInt16LE(0xaa55, 510);
  disk.write("EFI PART", 512, "latin1");
  disk.writeBigUInt64LE(2n, 512 + 72);
  disk.writeUInt32LE(128, 512 + 80);
  disk.writeUInt32LE(128, 512 + 84);
  parts.forEach((p, i) => {
    const at = 1024 + i * 128;
    Buffer.from(p.type, "hex").copy(disk, at);
    disk.writeBigUInt64LE(BigInt(p.first), at + 32);
    disk.writeBigUInt64LE(BigInt(p.last), at + 40);
  });
  return disk;
}

describe("runner-hosts: partition tables of disk images", function () {
  let dir: string;
  const file = (name: string, data: Buffer) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, data);
    return f;
  };
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "rf-parts-"))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("finds the largest Linux partition of a GPT disk, skipping the EFI system partition", () => {
    const linux = "af3dc60f838472478e793d69d8477de4";
    const efi = "28732ac11ff8d211ba4b00a0c93ec93b";
    const disk = file(
      "gpt.raw",
      gptDisk(
        [
          { type: efi, first: 34, last: 233 },
          { type: linux, first: 234, last: 300 },
          { type: linux, first: 301, last: 900 },
        ],
        1024,
      ),
    );
    assert.equal(readPartitions(disk).length, 2, "the EFI system partition is no candidate");
    assert.deepEqual(rootPartition(disk), { offset: 301 * 512, length: 600 * 512, linux: true });
  });

  it("finds the Linux partition of an MBR disk", () => {
    const disk = Buffer.alloc(4096 * 512);
    mbrWithLinuxPartition(2048, 2048).copy(disk);
    assert.deepEqual(rootPartition(file("mbr.raw", disk)), {
      offset: 2048 * 512,
      length: 2048 * 512,
      linux: true,
    });
  });

  it("answers null for a bare filesystem or random bytes", () => {
    assert.equal(rootPartition(file("zeros.raw", Buffer.alloc(64 * 1024))), null);
    const random = Buffer.alloc(64 * 1024, 7);
    random.writeUInt16LE(0xaa55, 510); // a boot sector signature, but no sane entries
    random[446] = 0x42;
    assert.equal(rootPartition(file("random.raw", random)), null);
  });
});
