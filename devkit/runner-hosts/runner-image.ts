// The runner a server's image holds: the image is downloaded from Glance, converted to a raw disk
// with qemu-img, its root filesystem found (the whole disk, or the largest Linux partition of a
// partitioned one (GPT or MBR, read by partition-table.ts), cut out by offset) and /home/ubuntu/actions-runner copied out of the ext4
// filesystem with debugfs's rdump: no loop device, no mount. One extraction per image id.
import * as fs from "node:fs";
import * as path from "node:path";
import { pipeline } from "node:stream/promises";
import { run, runCapture } from "./commands";
import { rootPartition } from "./partition-table";

/** Where the runner lives in a runner image (build-runner-image.sh's RUNNER_DIR). */
export const IMAGE_RUNNER_DIR = "/home/ubuntu/actions-runner";

/** What an image holds: its runner folder, or why there is none. */
export type ImageRunner = { dir: string } | { dir: null; reason: string };

/** Writes an image's data (Glance `GET /v2/images/{id}/file`) to a file. */
export type ImageDownload = (imageId: string, file: string) => Promise<void>;

/** The byte range of the root filesystem on a raw disk: a partition's, or the whole disk. */
function rootFilesystemRange(disk: string): { offset: number; length: number } {
  const partition = rootPartition(disk);
  return partition ?? { offset: 0, length: fs.statSync(disk).size };
}

async function copyRange(from: string, to: string, offset: number, length: number) {
  if (length <= 0) throw new Error("empty partition");
  await pipeline(
    fs.createReadStream(from, { start: offset, end: offset + length - 1 }),
    fs.createWriteStream(to),
  );
}

/**
 * Extracts `IMAGE_RUNNER_DIR` of image files into `<cacheDir>/<image id>/actions-runner`, once
 * per image id (concurrent callers share the work). Never throws for image contents: an image
 * that is no disk, no ext4 filesystem or has no runner folder answers `{dir: null, reason}`.
 */
export class RunnerImageCache {
  private readonly pending = new Map<string, Promise<ImageRunner>>();

  constructor(
    private readonly cacheDir: string,
    private readonly download: ImageDownload,
  ) {}

  runner(imageId: string): Promise<ImageRunner> {
    let result = this.pending.get(imageId);
    if (!result) {
      result = this.extract(imageId).catch((err: unknown) => {
        this.pending.delete(imageId); // a failed download may succeed next time
        throw err;
      });
      this.pending.set(imageId, result);
    }
    return result;
  }

  private async extract(imageId: string): Promise<ImageRunner> {
    if (!/^[0-9a-zA-Z-]+$/.test(imageId)) return { dir: null, reason: `odd image id ${imageId}` };
    const work = path.join(this.cacheDir, imageId);
    fs.rmSync(work, { recursive: true, force: true });
    fs.mkdirSync(work, { recursive: true });
    const image = path.join(work, "image");
    await this.download(imageId, image);
    try {
      let format = "raw";
      try {
        const info = JSON.parse(await run("qemu-img", ["info", "--output=json", image])) as {
          format?: string;
        };
        format = info.format ?? "raw";
      } catch {
        // qemu-img does not know it: treat the data as a raw disk.
      }
      let disk = image;
      if (format !== "raw") {
        disk = path.join(work, "disk.raw");
        await run("qemu-img", ["convert", "-f", format, "-O", "raw", image, disk]);
        fs.rmSync(image);
      }
      const range = rootFilesystemRange(disk);
      let filesystem = disk;
      if (range.offset !== 0 || range.length !== fs.statSync(disk).size) {
        filesystem = path.join(work, "root.fs");
        await copyRange(disk, filesystem, range.offset, range.length);
        fs.rmSync(disk);
      }
      const out = path.join(work, "extracted");
      fs.mkdirSync(out);
      // debugfs exits 0 even when a command fails: the result is checked instead.
      const debugfs = await runCapture("debugfs", [
        "-R",
        `rdump ${IMAGE_RUNNER_DIR} ${out}`,
        filesystem,
      ]);
      const dir = path.join(out, path.basename(IMAGE_RUNNER_DIR));
      if (fs.existsSync(path.join(dir, "run.sh"))) return { dir };
      const detail = debugfs.stderr
        .split("\n")
        .filter((l) => l.trim() && !/^debugfs \d/.test(l))
        .join("; ");
      const layout = filesystem === disk ? format : `${format}, partition at ${range.offset}`;
      return {
        dir: null,
        reason: `no ${IMAGE_RUNNER_DIR}/run.sh in image ${imageId} (${layout}): ${detail || "?"}`,
      };
    } finally {
      for (const f of ["image", "disk.raw", "root.fs"]) {
        fs.rmSync(path.join(work, f), { force: true });
      }
    }
  }
}
