// The central directory of a zip archive (PyTorch's checkpoint container), read with positional reads:
// entry names, methods, sizes and where each entry's data starts. ZIP64 records are understood (PyTorch
// writes them for archives or entries above 4 GiB). Data is read by the caller at `dataOffset`; stored
// entries can be read in any range, deflated ones only as a whole (see `readEntry`).

import type { FileHandle } from "node:fs/promises";
import { inflateRawSync } from "node:zlib";
import { PytorchError } from "./errors.js";

export interface ZipEntry {
  readonly name: string;
  /** 0 = stored, 8 = deflated. */
  readonly method: number;
  readonly compressedSize: number;
  readonly size: number;
  /** File offset of the entry's (possibly compressed) data. */
  readonly dataOffset: number;
}

const EOCD = 0x06054b50;
const EOCD64_LOCATOR = 0x07064b50;
const EOCD64 = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/** Reads exactly `length` bytes at `position`. */
export async function readAt(
  fh: FileHandle,
  file: string,
  position: number,
  length: number,
): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const want = Math.min(1 << 30, length - done);
    let bytesRead: number;
    try {
      ({ bytesRead } = await fh.read(out, done, want, position + done));
    } catch (cause) {
      throw new PytorchError("READ", file, `read failed: ${(cause as Error).message}`, undefined, { cause });
    }
    if (bytesRead === 0) {
      throw new PytorchError(
        "FORMAT",
        file,
        `file ends at byte ${position + done}, expected ${position + length}`,
      );
    }
    done += bytesRead;
  }
  return out;
}

function u64(view: DataView, at: number, file: string): number {
  const v = view.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER))
    throw new PytorchError("FORMAT", file, `zip field ${v} is too large`);
  return Number(v);
}

/** Parses the archive's central directory. */
export async function readZipDirectory(fh: FileHandle, file: string, fileSize: number): Promise<ZipEntry[]> {
  const bad = (problem: string): never => {
    throw new PytorchError("FORMAT", file, `not a valid zip archive: ${problem}`);
  };
  const tailLen = Math.min(fileSize, 22 + 0xffff);
  const tail = await readAt(fh, file, fileSize - tailLen, tailLen);
  const tv = new DataView(tail.buffer);
  let at = -1;
  for (let i = tailLen - 22; i >= 0; i--) {
    if (tv.getUint32(i, true) === EOCD) {
      at = i;
      break;
    }
  }
  if (at < 0) bad("no end-of-central-directory record");
  let count = tv.getUint16(at + 10, true);
  let cdSize = tv.getUint32(at + 12, true);
  let cdOffset = tv.getUint32(at + 16, true);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = at - 20;
    if (loc < 0 || tv.getUint32(loc, true) !== EOCD64_LOCATOR) bad("ZIP64 locator missing");
    const recOffset = u64(tv, loc + 8, file);
    const rec = new DataView((await readAt(fh, file, recOffset, 56)).buffer);
    if (rec.getUint32(0, true) !== EOCD64) bad("ZIP64 end record missing");
    count = u64(rec, 32, file);
    cdSize = u64(rec, 40, file);
    cdOffset = u64(rec, 48, file);
  }
  if (cdOffset + cdSize > fileSize) bad("central directory outside the file");
  const cd = await readAt(fh, file, cdOffset, cdSize);
  const cv = new DataView(cd.buffer);
  const names = new TextDecoder("utf-8");
  const entries: ZipEntry[] = [];
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.length || cv.getUint32(p, true) !== CENTRAL)
      bad(`central directory entry ${i} is malformed`);
    const flags = cv.getUint16(p + 8, true);
    const method = cv.getUint16(p + 10, true);
    let compressedSize = cv.getUint32(p + 20, true);
    let size = cv.getUint32(p + 24, true);
    const nameLen = cv.getUint16(p + 28, true);
    const extraLen = cv.getUint16(p + 30, true);
    const commentLen = cv.getUint16(p + 32, true);
    let localOffset = cv.getUint32(p + 42, true);
    const name = names.decode(cd.subarray(p + 46, p + 46 + nameLen));
    // ZIP64 extended information: the 0xFFFFFFFF fields, in order, as 8-byte values.
    let e = p + 46 + nameLen;
    const extraEnd = e + extraLen;
    while (e + 4 <= extraEnd) {
      const id = cv.getUint16(e, true);
      const len = cv.getUint16(e + 2, true);
      if (id === 0x0001) {
        let q = e + 4;
        if (size === 0xffffffff) {
          size = u64(cv, q, file);
          q += 8;
        }
        if (compressedSize === 0xffffffff) {
          compressedSize = u64(cv, q, file);
          q += 8;
        }
        if (localOffset === 0xffffffff) localOffset = u64(cv, q, file);
      }
      e += 4 + len;
    }
    if (flags & 1) {
      throw new PytorchError("UNSUPPORTED", file, `zip entry ${name} is encrypted`);
    }
    const local = new DataView((await readAt(fh, file, localOffset, 30)).buffer);
    if (local.getUint32(0, true) !== LOCAL) bad(`local header of ${name} missing`);
    const dataOffset = localOffset + 30 + local.getUint16(26, true) + local.getUint16(28, true);
    if (dataOffset + compressedSize > fileSize) bad(`entry ${name} extends past the end of the file`);
    entries.push({ name, method, compressedSize, size, dataOffset });
    p = extraEnd + commentLen;
  }
  return entries;
}

/** The whole (decompressed) content of an entry. */
export async function readEntry(fh: FileHandle, file: string, entry: ZipEntry): Promise<Uint8Array> {
  const raw = await readAt(fh, file, entry.dataOffset, entry.compressedSize);
  if (entry.method === 0) return raw;
  if (entry.method === 8) {
    try {
      return new Uint8Array(inflateRawSync(raw));
    } catch (cause) {
      throw new PytorchError("FORMAT", file, `zip entry ${entry.name} does not inflate`, undefined, {
        cause,
      });
    }
  }
  throw new PytorchError(
    "UNSUPPORTED",
    file,
    `zip entry ${entry.name} uses compression method ${entry.method} (only stored and deflated entries are read)`,
  );
}
