// One PyTorch checkpoint file (`torch.save` of a state dict) read without Python and without running
// its pickle: the zip format PyTorch writes since 1.6 (`<name>/data.pkl` + one entry per storage under
// `<name>/data/`), and the legacy format before it (consecutive pickles, then the storages' bytes).
// Opening reads only the pickle (a few kB per hundred tensors) and validates every tensor against its
// storage; tensors are read one at a time with positional reads. Tensors that are views (non-contiguous
// strides, offsets into shared storages, stride-0 expansions) are gathered into row-major order;
// tensors sharing a storage are each returned as their own copy.

import { type FileHandle, open } from "node:fs/promises";
import { type DType, dtypeInfo } from "../dtype.js";
import type { TensorReader } from "../safetensors/reader.js";
import { type LazyTensor, StateDict, type TensorInfo } from "../state-dict.js";
import { Tensor } from "../tensor.js";
import { PytorchError } from "./errors.js";
import { PickleTruncated, PyDict, PyList, type PyValue, unpickle } from "./pickle.js";
import { plainHooks, type StorageRef, stateDictEntries, type TensorRef, torchHooks } from "./rebuild.js";
import { readAt, readEntry, readZipDirectory, type ZipEntry } from "./zip.js";

/** The legacy format's first pickle. */
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;

export interface OpenPytorchOptions {
  /**
   * Key of the state dict inside a checkpoint that nests one (e.g. "state_dict" or "model" of a
   * training checkpoint); by default the pickle itself must be the state dict.
   */
  readonly entry?: string;
}

/** Where a storage's bytes are: a file range, or a compressed zip entry. */
interface StorageLocation {
  readonly offset: number;
  readonly bytes: number;
  readonly deflated?: ZipEntry;
}

interface TensorPlan {
  readonly ref: TensorRef;
  readonly location: StorageLocation;
  readonly elementSize: number;
  readonly numel: number;
  readonly contiguous: boolean;
  /** First and one-past-last element (of the storage) the tensor touches. */
  readonly lo: number;
  readonly hi: number;
}

function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && stride[i] !== expected) return false;
    expected *= shape[i];
  }
  return true;
}

/** Copies the strided elements of `span` (element `lo` of the storage at byte 0) into row-major order. */
function gather(span: Uint8Array, plan: TensorPlan, out: Uint8Array): Uint8Array {
  const { ref, elementSize: es, numel } = plan;
  const words = es === 8 ? 2 : 1;
  const width = es === 8 ? 4 : es;
  const Ctor = width === 1 ? Uint8Array : width === 2 ? Uint16Array : Uint32Array;
  const src = new Ctor(span.buffer as ArrayBuffer, span.byteOffset, span.byteLength / width);
  const dst = new Ctor(out.buffer as ArrayBuffer, out.byteOffset, out.byteLength / width);
  const dims = ref.shape.length;
  const index = new Array<number>(dims).fill(0);
  let at = ref.storage.elementOffset + ref.offset - plan.lo;
  for (let k = 0; k < numel; k++) {
    for (let w = 0; w < words; w++) dst[k * words + w] = src[at * words + w];
    // Advance the multi-index (last dimension fastest).
    for (let d = dims - 1; d >= 0; d--) {
      index[d]++;
      at += ref.stride[d];
      if (index[d] < ref.shape[d]) break;
      at -= ref.stride[d] * ref.shape[d];
      index[d] = 0;
    }
  }
  return out;
}

/** An open PyTorch checkpoint file. Close it when done. */
export class PytorchFile implements TensorReader {
  readonly path: string;
  /** "zip" (PyTorch ≥ 1.6) or "legacy". */
  readonly format: "zip" | "legacy";
  /** Attributes the pickle set on the state dict (PyTorch's `_metadata`), or null. */
  readonly attributes: PyValue;
  readonly #fh: FileHandle;
  readonly #plans: Map<string, TensorPlan>;
  #inflated: { key: ZipEntry; bytes: Uint8Array } | undefined;
  #closed = false;

  private constructor(
    path: string,
    fh: FileHandle,
    format: "zip" | "legacy",
    plans: Map<string, TensorPlan>,
    attributes: PyValue,
  ) {
    this.path = path;
    this.#fh = fh;
    this.format = format;
    this.#plans = plans;
    this.attributes = attributes;
  }

  /** Opens `path` and validates its pickle and every tensor's extent; throws PytorchError otherwise. */
  static async open(path: string, options: OpenPytorchOptions = {}): Promise<PytorchFile> {
    let fh: FileHandle;
    try {
      fh = await open(path, "r");
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      throw new PytorchError("NOT_FOUND", path, `cannot open (${code ?? String(cause)})`, undefined, {
        cause,
      });
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new PytorchError("NOT_FOUND", path, "not a regular file");
      const head = await readAt(fh, path, 0, Math.min(st.size, 512));
      if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) {
        return await PytorchFile.#openZip(path, fh, st.size, options);
      }
      if (head[0] === 0x80 && head[1] === 0x02)
        return await PytorchFile.#openLegacy(path, fh, st.size, options);
      if (head.length >= 262 && new TextDecoder().decode(head.subarray(257, 262)) === "ustar") {
        throw new PytorchError(
          "UNSUPPORTED",
          path,
          "a legacy tar checkpoint (PyTorch < 0.4); load and re-save it with a newer PyTorch first",
        );
      }
      throw new PytorchError("FORMAT", path, "not a PyTorch checkpoint (neither a zip archive nor a pickle)");
    } catch (err) {
      await fh.close().catch(() => {});
      throw err;
    }
  }

  static async #openZip(path: string, fh: FileHandle, size: number, options: OpenPytorchOptions) {
    const entries = await readZipDirectory(fh, path, size);
    const byName = new Map(entries.map((e) => [e.name, e]));
    const pickles = entries.filter((e) => e.name === "data.pkl" || e.name.endsWith("/data.pkl"));
    if (pickles.length !== 1) {
      throw new PytorchError(
        "FORMAT",
        path,
        pickles.length === 0
          ? "zip archive without a data.pkl: not a PyTorch checkpoint"
          : `zip archive with ${pickles.length} data.pkl entries`,
      );
    }
    const prefix = pickles[0].name.slice(0, -"data.pkl".length);
    const byteorder = byName.get(`${prefix}byteorder`);
    if (byteorder !== undefined) {
      const order = new TextDecoder().decode(await readEntry(fh, path, byteorder)).trim();
      if (order !== "little") {
        throw new PytorchError(
          "UNSUPPORTED",
          path,
          `storages are ${order}-endian; only little-endian files are read`,
        );
      }
    }
    const pkl = await readEntry(fh, path, pickles[0]);
    let value: PyValue;
    try {
      value = unpickle(pkl, 0, torchHooks(path, false)).value;
    } catch (err) {
      if (err instanceof PickleTruncated)
        throw new PytorchError("FORMAT", path, `${pickles[0].name} is truncated`);
      throw err;
    }
    const locate = (s: StorageRef, tensor: string): StorageLocation => {
      const e = byName.get(`${prefix}data/${s.key}`);
      if (e === undefined) {
        throw new PytorchError(
          "FORMAT",
          path,
          `storage ${s.key} has no entry ${prefix}data/${s.key}`,
          tensor,
        );
      }
      if (e.method !== 0 && e.method !== 8) {
        throw new PytorchError(
          "UNSUPPORTED",
          path,
          `storage entry ${e.name} uses compression method ${e.method}`,
        );
      }
      return e.method === 0
        ? { offset: e.dataOffset, bytes: e.size }
        : { offset: 0, bytes: e.size, deflated: e };
    };
    return new PytorchFile(path, fh, "zip", plan(path, value, options, locate), attributesOf(value, options));
  }

  static async #openLegacy(path: string, fh: FileHandle, size: number, options: OpenPytorchOptions) {
    // The pickles' total length is unknown: parse a prefix, and retry with more when one runs past it.
    const storages = new Map<string, StorageRef>();
    let length = Math.min(size, 1 << 20);
    let parsed: { value: PyValue; keys: string[]; dataStart: number } | undefined;
    while (parsed === undefined) {
      const buf = await readAt(fh, path, 0, length);
      try {
        const plain = plainHooks(path);
        const magic = unpickle(buf, 0, plain);
        if (magic.value !== LEGACY_MAGIC) {
          throw new PytorchError(
            "FORMAT",
            path,
            "a pickle, but not a PyTorch checkpoint (wrong magic number)",
          );
        }
        const protocol = unpickle(buf, magic.end, plain);
        if (protocol.value !== LEGACY_PROTOCOL) {
          throw new PytorchError("UNSUPPORTED", path, `legacy protocol version ${String(protocol.value)}`);
        }
        const sysInfo = unpickle(buf, protocol.end, plain);
        if (sysInfo.value instanceof PyDict && sysInfo.value.map.get("little_endian") === false) {
          throw new PytorchError(
            "UNSUPPORTED",
            path,
            "written on a big-endian machine; only little-endian files are read",
          );
        }
        const main = unpickle(
          buf,
          sysInfo.end,
          torchHooks(path, true, (s) => storages.set(s.key, s)),
        );
        const keys = unpickle(buf, main.end, plain);
        if (!(keys.value instanceof PyList) || !keys.value.items.every((k) => typeof k === "string")) {
          throw new PytorchError("FORMAT", path, "the storage key list is malformed");
        }
        parsed = { value: main.value, keys: keys.value.items as string[], dataStart: keys.end };
      } catch (err) {
        if (!(err instanceof PickleTruncated)) throw err;
        if (length >= size) throw new PytorchError("FORMAT", path, "the file ends inside its pickles");
        length = Math.min(size, length * 4);
      }
    }
    // Storage records follow in key order: an int64 element count, then the bytes.
    const locations = new Map<string, StorageLocation>();
    let pos = parsed.dataStart;
    for (const key of parsed.keys) {
      const s = storages.get(key);
      if (s === undefined) throw new PytorchError("FORMAT", path, `storage ${key} is listed but never used`);
      const header = await readAt(fh, path, pos, 8);
      const count = Number(new DataView(header.buffer).getBigInt64(0, true));
      const bytes = count * (dtypeInfo(s.dtype).bits / 8);
      if (!(count >= 0) || pos + 8 + bytes > size) {
        throw new PytorchError(
          "FORMAT",
          path,
          `storage ${key} (${count} elements) extends past the end of the file`,
        );
      }
      locations.set(key, { offset: pos + 8, bytes });
      pos += 8 + bytes;
    }
    const locate = (s: StorageRef, tensor: string): StorageLocation => {
      const l = locations.get(s.key);
      if (l === undefined)
        throw new PytorchError("FORMAT", path, `storage ${s.key} has no data record`, tensor);
      return l;
    };
    return new PytorchFile(
      path,
      fh,
      "legacy",
      plan(path, parsed.value, options, locate),
      attributesOf(parsed.value, options),
    );
  }

  get metadata(): Readonly<Record<string, string>> | null {
    return null;
  }

  /** Names in the state dict's order. */
  names(): string[] {
    return [...this.#plans.keys()];
  }

  has(name: string): boolean {
    return this.#plans.has(name);
  }

  info(name: string): TensorInfo | undefined {
    const p = this.#plans.get(name);
    return p === undefined ? undefined : { dtype: p.ref.storage.dtype, shape: p.ref.shape };
  }

  /** Groups of names whose tensors share one storage (tied weights, views); each group has ≥ 2 names. */
  sharedStorages(): string[][] {
    const byKey = new Map<string, string[]>();
    for (const [name, p] of this.#plans) {
      const list = byKey.get(p.ref.storage.key);
      if (list === undefined) byKey.set(p.ref.storage.key, [name]);
      else list.push(name);
    }
    return [...byKey.values()].filter((g) => g.length > 1);
  }

  #plan(name: string): TensorPlan {
    if (this.#closed) throw new PytorchError("READ", this.path, "file is closed", name);
    const p = this.#plans.get(name);
    if (p === undefined)
      throw new PytorchError("NOT_FOUND", this.path, "no such tensor in this checkpoint", name);
    return p;
  }

  /** Bytes [from, to) of a storage (elements × element size, relative to the storage's start). */
  async #storageBytes(p: TensorPlan, from: number, to: number): Promise<Uint8Array> {
    if (p.location.deflated === undefined)
      return readAt(this.#fh, this.path, p.location.offset + from, to - from);
    // Compressed entries are inflated whole; the last one is kept for tensors sharing it.
    if (this.#inflated?.key !== p.location.deflated) {
      this.#inflated = {
        key: p.location.deflated,
        bytes: await readEntry(this.#fh, this.path, p.location.deflated),
      };
    }
    return this.#inflated.bytes.slice(from, to);
  }

  /** The tensor's elements in row-major order as little-endian bytes (a fresh array). */
  async readBytes(name: string): Promise<Uint8Array> {
    const p = this.#plan(name);
    if (p.numel === 0) return new Uint8Array(0);
    let out: Uint8Array | undefined;
    try {
      out = p.contiguous ? undefined : new Uint8Array(p.numel * p.elementSize);
    } catch (cause) {
      throw new PytorchError("READ", this.path, `cannot allocate ${p.numel} elements`, name, { cause });
    }
    const span = await this.#storageBytes(p, p.lo * p.elementSize, p.hi * p.elementSize);
    return out === undefined ? span : gather(span, p, out);
  }

  async readInto<T extends ArrayBufferView>(name: string, target: T): Promise<T> {
    const p = this.#plan(name);
    if (target.byteLength !== p.numel * p.elementSize) {
      throw new PytorchError(
        "READ",
        this.path,
        `target holds ${target.byteLength} bytes, tensor has ${p.numel * p.elementSize}`,
        name,
      );
    }
    new Uint8Array(target.buffer, target.byteOffset, target.byteLength).set(await this.readBytes(name));
    return target;
  }

  async read(name: string): Promise<Tensor> {
    const p = this.#plan(name);
    return Tensor.fromBytes(p.ref.storage.dtype, p.ref.shape, await this.readBytes(name));
  }

  async readFloat32(name: string, out?: Float32Array): Promise<Float32Array> {
    const t = await this.read(name);
    if (out !== undefined && out.length !== t.numel) {
      throw new PytorchError(
        "READ",
        this.path,
        `output holds ${out.length} values, tensor has ${t.numel}`,
        name,
      );
    }
    return t.toFloat32(out);
  }

  /**
   * Streams a tensor's row-major bytes in chunks of at most `chunkBytes` (whole elements). Contiguous
   * stored tensors are read chunk by chunk; views are gathered first. The yielded array is valid only
   * until the next iteration.
   */
  async *readChunks(name: string, chunkBytes = 16 << 20, buffer?: Uint8Array): AsyncGenerator<Uint8Array> {
    const p = this.#plan(name);
    const limit = buffer === undefined ? chunkBytes : Math.min(chunkBytes, buffer.byteLength);
    const step = Math.floor(limit / p.elementSize) * p.elementSize;
    if (step <= 0)
      throw new PytorchError("READ", this.path, `chunk of ${limit} bytes holds no element`, name);
    const total = p.numel * p.elementSize;
    if (!p.contiguous || p.location.deflated !== undefined) {
      const all = await this.readBytes(name);
      for (let done = 0; done < total; done += step) yield all.subarray(done, Math.min(total, done + step));
      return;
    }
    const start = p.location.offset + p.lo * p.elementSize;
    for (let done = 0; done < total; done += step) {
      const len = Math.min(step, total - done);
      const chunk = await readAt(this.#fh, this.path, start + done, len);
      if (buffer === undefined) yield chunk;
      else {
        buffer.set(chunk);
        yield buffer.subarray(0, len);
      }
    }
  }

  lazy(name: string): LazyTensor {
    const info = this.info(name);
    if (info === undefined)
      throw new PytorchError("NOT_FOUND", this.path, "no such tensor in this checkpoint", name);
    return {
      name,
      dtype: info.dtype,
      shape: info.shape,
      load: () => this.read(name),
      loadFloat32: (out?: Float32Array) => this.readFloat32(name, out),
    };
  }

  stateDict(): StateDict {
    return new StateDict(this.names().map((n) => [n, this.lazy(n)] as const));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#inflated = undefined;
    await this.#fh.close();
  }
}

function attributesOf(value: PyValue, options: OpenPytorchOptions): PyValue {
  const dict = options.entry !== undefined && value instanceof PyDict ? value.map.get(options.entry) : value;
  return dict instanceof PyDict ? dict.attributes : null;
}

/** Validates every tensor of the state dict against its storage and plans its read. */
function plan(
  file: string,
  value: PyValue,
  options: OpenPytorchOptions,
  locate: (s: StorageRef, tensor: string) => StorageLocation,
): Map<string, TensorPlan> {
  const plans = new Map<string, TensorPlan>();
  for (const [name, ref] of stateDictEntries(file, value, options.entry)) {
    const dtype: DType = ref.storage.dtype;
    const elementSize = dtypeInfo(dtype).bits / 8;
    const location = locate(ref.storage, name);
    let numel = 1;
    for (const s of ref.shape) numel *= s;
    const lo = ref.storage.elementOffset + ref.offset;
    let hi = lo;
    if (numel > 0) {
      let last = lo;
      for (let d = 0; d < ref.shape.length; d++) last += (ref.shape[d] - 1) * ref.stride[d];
      hi = last + 1;
    }
    if (!Number.isSafeInteger(numel * elementSize)) {
      throw new PytorchError("FORMAT", file, `shape [${ref.shape.join(", ")}] is too large`, name);
    }
    const available = Math.min(ref.storage.numel + ref.storage.elementOffset, location.bytes / elementSize);
    if (numel > 0 && hi > available) {
      throw new PytorchError(
        "FORMAT",
        file,
        `shape [${ref.shape.join(", ")}] with stride [${ref.stride.join(", ")}] at offset ${ref.offset} reaches element ${hi} of a storage of ${available}`,
        name,
      );
    }
    plans.set(name, {
      ref,
      location,
      elementSize,
      numel,
      contiguous: isContiguous(ref.shape, ref.stride),
      lo,
      hi,
    });
  }
  return plans;
}

/** Opens one PyTorch checkpoint file (zip or legacy format). */
export function openPytorchFile(path: string, options?: OpenPytorchOptions): Promise<PytorchFile> {
  return PytorchFile.open(path, options);
}
