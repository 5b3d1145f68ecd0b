// What a PyTorch state-dict pickle may do, and nothing more: the allowlisted globals, the calls they
// stand for (rebuilding tensors over storages, making an OrderedDict, torch.Size, latin-1 bytes), BUILD
// on dicts (a state dict's `_metadata`), and storage persistent ids. Everything else is refused with an
// UnsafePickleError naming the file and the global or opcode.

import type { DType } from "../dtype.js";
import { PytorchError, UnsafePickleError } from "./errors.js";
import {
  type PickleHooks,
  PyDict,
  PyGlobal,
  PyList,
  type PyOpaque,
  PyTuple,
  type PyValue,
} from "./pickle.js";

/** torch's typed storage classes (`torch.<Name>Storage`) and the safetensors dtype of their elements. */
export const STORAGE_DTYPES: Readonly<Record<string, DType>> = {
  DoubleStorage: "F64",
  FloatStorage: "F32",
  HalfStorage: "F16",
  BFloat16Storage: "BF16",
  LongStorage: "I64",
  IntStorage: "I32",
  ShortStorage: "I16",
  CharStorage: "I8",
  ByteStorage: "U8",
  BoolStorage: "BOOL",
};

/** Functions a state-dict pickle may call (REDUCE), besides `collections.OrderedDict`. */
const REBUILD_FUNCTIONS = new Set([
  "torch._utils._rebuild_tensor_v2",
  "torch._utils._rebuild_tensor",
  "torch._utils._rebuild_parameter",
  "torch._utils._rebuild_parameter_with_state",
  "torch.Size",
  "_codecs.encode",
  "collections.OrderedDict",
]);

/** Every global a state-dict pickle may name (`module.name`). */
export const ALLOWED_GLOBALS: ReadonlySet<string> = new Set([
  ...REBUILD_FUNCTIONS,
  ...Object.keys(STORAGE_DTYPES).map((s) => `torch.${s}`),
]);

/** A storage named by a persistent id: its data is the archive entry (or legacy record) `key`. */
export interface StorageRef extends PyOpaque {
  readonly pyType: "storage";
  readonly dtype: DType;
  readonly key: string;
  /** Elements the storage holds (as the pickle declares). */
  readonly numel: number;
  /** Legacy storage views: the element offset of this view into storage `key`. */
  readonly elementOffset: number;
}

/** A tensor rebuilt over a storage: `shape` / `stride` in elements, `offset` into the storage. */
export interface TensorRef extends PyOpaque {
  readonly pyType: "tensor";
  readonly storage: StorageRef;
  readonly offset: number;
  readonly shape: readonly number[];
  readonly stride: readonly number[];
}

export function isTensorRef(v: PyValue): v is TensorRef {
  return typeof v === "object" && v !== null && (v as PyOpaque).pyType === "tensor";
}

function isStorageRef(v: PyValue): v is StorageRef {
  return typeof v === "object" && v !== null && (v as PyOpaque).pyType === "storage";
}

/** A Python-ish name of a value's type (for messages). */
export function pyTypeName(v: PyValue): string {
  if (v === null) return "None";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "number") return Number.isInteger(v) ? "int" : "float";
  if (typeof v === "bigint") return "int";
  if (typeof v === "string") return "str";
  if (v instanceof Uint8Array) return "bytes";
  if (v instanceof PyTuple) return "tuple";
  if (v instanceof PyList) return "list";
  if (v instanceof PyDict) return v.ordered ? "OrderedDict" : "dict";
  if (v instanceof PyGlobal) return v.qualified;
  return (v as PyOpaque).pyType;
}

/**
 * The pickle hooks of a torch checkpoint; `legacy` accepts the legacy format's 6-item storage ids.
 * `onStorage` sees every storage the pickle references.
 */
export function torchHooks(file: string, legacy: boolean, onStorage?: (s: StorageRef) => void): PickleHooks {
  const refuse = (offset: number, problem: string): never => {
    throw new UnsafePickleError(file, {
      opcode: "REDUCE",
      offset,
      problem: `${problem} at pickle byte ${offset}`,
    });
  };
  const bad = (offset: number, problem: string): never => {
    throw new PytorchError("FORMAT", file, `pickle byte ${offset}: ${problem}`);
  };
  const int = (v: PyValue, what: string, offset: number): number => {
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0)
      bad(offset, `${what} must be a non-negative integer`);
    return v as number;
  };
  const ints = (v: PyValue, what: string, offset: number): number[] => {
    if (!(v instanceof PyTuple)) return bad(offset, `${what} must be a tuple`);
    return v.items.map((x) => int(x, what, offset));
  };
  return {
    file,
    allowGlobal: (module, name) => ALLOWED_GLOBALS.has(`${module}.${name}`),
    persistentLoad(pid, offset) {
      if (!(pid instanceof PyTuple) || pid.items[0] !== "storage") {
        return refuse(offset, `refused persistent id ${pyTypeName(pid)} (only storages)`);
      }
      const [, type, key, location, numel, view] = pid.items;
      if (!(type instanceof PyGlobal) || STORAGE_DTYPES[type.name] === undefined || type.module !== "torch") {
        return bad(offset, `storage type ${pyTypeName(type)} is not a torch storage class`);
      }
      if (typeof key !== "string" || typeof location !== "string") return bad(offset, "malformed storage id");
      if (pid.items.length !== (legacy ? 6 : 5))
        return bad(offset, `storage id has ${pid.items.length} items`);
      let elementOffset = 0;
      if (legacy && view !== null && view !== undefined) {
        // (view_key, offset, view_size): a view into the root storage `key` (PyTorch < 1.6 storage views).
        if (!(view instanceof PyTuple) || view.items.length !== 3)
          return bad(offset, "malformed storage view");
        elementOffset = int(view.items[1], "storage view offset", offset);
      }
      const ref: StorageRef = {
        pyType: "storage",
        dtype: STORAGE_DTYPES[type.name],
        key,
        numel: int(numel, "storage size", offset),
        elementOffset,
      };
      onStorage?.(ref);
      return ref;
    },
    reduce(fn, args, offset) {
      if (!(fn instanceof PyGlobal) || !REBUILD_FUNCTIONS.has(fn.qualified)) {
        return refuse(
          offset,
          `refused call of ${pyTypeName(fn)} (only tensor rebuild functions may be called)`,
        );
      }
      const a = args.items;
      switch (fn.qualified) {
        case "collections.OrderedDict": {
          const d = new PyDict(true);
          if (a.length === 0) return d;
          if (a.length === 1 && a[0] instanceof PyList) {
            for (const pair of a[0].items) {
              if (!(pair instanceof PyTuple) || pair.items.length !== 2)
                bad(offset, "OrderedDict items must be pairs");
              d.map.set((pair as PyTuple).items[0], (pair as PyTuple).items[1]);
            }
            return d;
          }
          return bad(offset, "unexpected OrderedDict arguments");
        }
        case "torch._utils._rebuild_tensor_v2":
        case "torch._utils._rebuild_tensor": {
          const [storage, off, size, stride] = a;
          if (!isStorageRef(storage)) return bad(offset, "tensor rebuilt without a storage");
          const shape = ints(size, "tensor size", offset);
          const strides = ints(stride, "tensor stride", offset);
          if (shape.length !== strides.length) bad(offset, "tensor size and stride differ in length");
          const t: TensorRef = {
            pyType: "tensor",
            storage,
            offset: int(off, "storage offset", offset),
            shape,
            stride: strides,
          };
          return t;
        }
        case "torch._utils._rebuild_parameter":
        case "torch._utils._rebuild_parameter_with_state":
          if (!isTensorRef(a[0])) return bad(offset, "parameter rebuilt without a tensor");
          return a[0];
        case "torch.Size":
          if (!(a[0] instanceof PyTuple)) return bad(offset, "torch.Size needs a tuple");
          return a[0];
        default: {
          // _codecs.encode(str, "latin1"): how protocol 2 pickles bytes.
          const [s, enc] = a;
          if (typeof s !== "string" || (enc !== "latin1" && enc !== "latin-1")) {
            return refuse(offset, "refused _codecs.encode other than (str, 'latin1')");
          }
          return Uint8Array.from(s as string, (c) => c.charCodeAt(0) & 0xff);
        }
      }
    },
    build(target, state, offset) {
      if (target instanceof PyDict) {
        target.attributes = state;
        return;
      }
      throw new UnsafePickleError(file, {
        opcode: "BUILD",
        offset,
        problem: `refused BUILD on ${pyTypeName(target)} at pickle byte ${offset} (only dict attributes may be set)`,
      });
    },
  };
}

/** "a dict", "an int", "an OrderedDict". */
function withArticle(typeName: string): string {
  return `${/^[aeiouAEIOU]/.test(typeName) ? "an" : "a"} ${typeName}`;
}

/**
 * The (name, tensor) pairs of a state dict: a dict of str → tensor, or the dict under `entry` of a
 * checkpoint that nests one (e.g. `{"state_dict": …, "epoch": 3}`).
 */
export function stateDictEntries(file: string, value: PyValue, entry?: string): [string, TensorRef][] {
  let dict = value;
  if (entry !== undefined) {
    if (!(dict instanceof PyDict) || !dict.map.has(entry)) {
      throw new PytorchError("NOT_A_STATE_DICT", file, `the pickle has no key ${JSON.stringify(entry)}`);
    }
    dict = dict.map.get(entry) as PyValue;
  }
  if (!(dict instanceof PyDict)) {
    throw new PytorchError(
      "NOT_A_STATE_DICT",
      file,
      `the pickle holds ${withArticle(pyTypeName(dict))}, not a state dict (a dict of tensors)`,
    );
  }
  const out: [string, TensorRef][] = [];
  for (const [k, v] of dict.map) {
    if (typeof k !== "string") {
      throw new PytorchError("NOT_A_STATE_DICT", file, `state dict key ${pyTypeName(k)} is not a string`);
    }
    if (!isTensorRef(v)) {
      const nested = [...dict.map].filter(([, x]) => x instanceof PyDict).map(([n]) => JSON.stringify(n));
      const hint =
        nested.length > 0 && entry === undefined
          ? `; it looks like a training checkpoint: choose the state dict with entry ${nested.join(" or ")}`
          : "";
      throw new PytorchError(
        "NOT_A_STATE_DICT",
        file,
        `key ${JSON.stringify(k)} holds ${withArticle(pyTypeName(v))}, not a tensor${hint}`,
      );
    }
    out.push([k, v]);
  }
  return out;
}

/** Hooks for pickles that must hold plain data only (the legacy format's header and key list). */
export function plainHooks(file: string): PickleHooks {
  const refuse = (offset: number, opcode: string): never => {
    throw new UnsafePickleError(file, {
      opcode,
      offset,
      problem: `refused ${opcode} at pickle byte ${offset}: this part of the file holds plain data only`,
    });
  };
  return {
    file,
    allowGlobal: () => false,
    reduce: (_fn, _args, offset) => refuse(offset, "REDUCE"),
    build: (_t, _s, offset) => refuse(offset, "BUILD"),
    persistentLoad: (_p, offset) => refuse(offset, "BINPERSID"),
  };
}
