// A restricted pickle reader. It builds only plain data (None, bools, ints, floats, strings, bytes,
// tuples, lists, dicts) and hands every global, call (REDUCE), BUILD and persistent id to the caller's
// hooks, which decide what they accept; it never imports or calls anything itself. Opcodes outside the
// list below are refused with an UnsafePickleError naming the opcode, the file and the byte offset.
//
// Accepted opcodes (what torch.save writes with protocols 2–4, and plain containers):
//   PROTO FRAME STOP MARK | NONE NEWTRUE NEWFALSE BININT BININT1 BININT2 LONG1 BINFLOAT
//   BINUNICODE SHORT_BINUNICODE BINUNICODE8 BINSTRING SHORT_BINSTRING BINBYTES SHORT_BINBYTES BINBYTES8
//   EMPTY_TUPLE TUPLE TUPLE1 TUPLE2 TUPLE3 EMPTY_LIST LIST APPEND APPENDS EMPTY_DICT DICT SETITEM SETITEMS
//   BINPUT LONG_BINPUT MEMOIZE BINGET LONG_BINGET | GLOBAL STACK_GLOBAL REDUCE BUILD BINPERSID (via hooks)
// Refused: INST OBJ NEWOBJ NEWOBJ_EX EXT1 EXT2 EXT4 PERSID, the text-protocol opcodes (INT LONG FLOAT
// STRING UNICODE GET PUT), POP POP_MARK DUP, LONG4, sets, and the protocol-5 buffer opcodes.

import { PytorchError, UnsafePickleError } from "./errors.js";

/** A Python tuple. */
export class PyTuple {
  constructor(readonly items: readonly PyValue[]) {}
}

/** A Python list. */
export class PyList {
  constructor(readonly items: PyValue[] = []) {}
}

/** A Python dict (insertion-ordered, like Python's); `ordered` marks a collections.OrderedDict. */
export class PyDict {
  readonly map = new Map<PyValue, PyValue>();
  /** Instance attributes set by BUILD (e.g. a state dict's `_metadata`). */
  attributes: PyValue = null;
  constructor(readonly ordered = false) {}
}

/** A reference to a global `module.name`, as pushed by GLOBAL / STACK_GLOBAL after the allowlist check. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}

/** Something a hook built (a storage reference, a tensor...): opaque to the pickle machine. */
export interface PyOpaque {
  readonly pyType: string;
}

export type PyValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PyTuple
  | PyList
  | PyDict
  | PyGlobal
  | PyOpaque;

/** What the caller accepts: globals, calls, BUILD targets and persistent ids. */
export interface PickleHooks {
  /** The file (for messages). */
  readonly file: string;
  /** True if GLOBAL `module.name` may be pushed at all. */
  allowGlobal(module: string, name: string): boolean;
  /** REDUCE: `fn(*args)`; throw to refuse. */
  reduce(fn: PyValue, args: PyTuple, offset: number): PyValue;
  /** BUILD: set `state` on `target`; throw to refuse. */
  build(target: PyValue, state: PyValue, offset: number): void;
  /** BINPERSID: resolve a persistent id (torch: a storage reference). */
  persistentLoad(pid: PyValue, offset: number): PyValue;
}

/** The pickle ran past the end of the bytes it was given (the caller may retry with more). */
export class PickleTruncated extends Error {
  override name = "PickleTruncated";
}

const OPCODE_NAMES: Record<number, string> = {
  40: "MARK",
  46: "STOP",
  48: "POP",
  49: "POP_MARK",
  50: "DUP",
  70: "FLOAT",
  73: "INT",
  74: "BININT",
  75: "BININT1",
  76: "LONG",
  77: "BININT2",
  78: "NONE",
  80: "PERSID",
  81: "BINPERSID",
  82: "REDUCE",
  83: "STRING",
  84: "BINSTRING",
  85: "SHORT_BINSTRING",
  86: "UNICODE",
  88: "BINUNICODE",
  97: "APPEND",
  98: "BUILD",
  99: "GLOBAL",
  100: "DICT",
  125: "EMPTY_DICT",
  101: "APPENDS",
  103: "GET",
  104: "BINGET",
  105: "INST",
  106: "LONG_BINGET",
  108: "LIST",
  93: "EMPTY_LIST",
  111: "OBJ",
  112: "PUT",
  113: "BINPUT",
  114: "LONG_BINPUT",
  115: "SETITEM",
  116: "TUPLE",
  41: "EMPTY_TUPLE",
  117: "SETITEMS",
  71: "BINFLOAT",
  128: "PROTO",
  129: "NEWOBJ",
  130: "EXT1",
  131: "EXT2",
  132: "EXT4",
  133: "TUPLE1",
  134: "TUPLE2",
  135: "TUPLE3",
  136: "NEWTRUE",
  137: "NEWFALSE",
  138: "LONG1",
  139: "LONG4",
  66: "BINBYTES",
  67: "SHORT_BINBYTES",
  140: "SHORT_BINUNICODE",
  141: "BINUNICODE8",
  142: "BINBYTES8",
  143: "EMPTY_SET",
  144: "ADDITEMS",
  145: "FROZENSET",
  146: "NEWOBJ_EX",
  147: "STACK_GLOBAL",
  148: "MEMOIZE",
  149: "FRAME",
  150: "BYTEARRAY8",
  151: "NEXT_BUFFER",
  152: "READONLY_BUFFER",
};

/** The name of an opcode byte (for messages). */
export function opcodeName(op: number): string {
  return OPCODE_NAMES[op] ?? `0x${op.toString(16).padStart(2, "0")}`;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const latin1 = new TextDecoder("latin1");

/** Reads one pickle from `data` starting at `start`; returns the value and the offset after STOP. */
export function unpickle(
  data: Uint8Array,
  start: number,
  hooks: PickleHooks,
): { value: PyValue; end: number } {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const memo = new Map<number, PyValue>();
  let stack: PyValue[] = [];
  const marks: PyValue[][] = [];
  let pos = start;
  let opAt = start;

  const fail = (problem: string): never => {
    throw new PytorchError("FORMAT", hooks.file, `pickle byte ${opAt}: ${problem}`);
  };
  const need = (n: number) => {
    if (pos + n > data.length)
      throw new PickleTruncated(`${hooks.file}: pickle ends inside an opcode at byte ${opAt}`);
  };
  const u8 = () => {
    need(1);
    return data[pos++];
  };
  const u16 = () => {
    need(2);
    const v = view.getUint16(pos, true);
    pos += 2;
    return v;
  };
  const u32 = () => {
    need(4);
    const v = view.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const u64 = () => {
    need(8);
    const v = view.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`length ${v} is too large`);
    return Number(v);
  };
  const bytes = (n: number) => {
    need(n);
    const b = data.subarray(pos, pos + n);
    pos += n;
    return b;
  };
  const text = (b: Uint8Array) => {
    try {
      return utf8.decode(b);
    } catch {
      return fail("invalid UTF-8 in a string");
    }
  };
  const line = () => {
    const nl = data.indexOf(0x0a, pos);
    if (nl < 0) throw new PickleTruncated(`${hooks.file}: pickle ends inside a GLOBAL at byte ${opAt}`);
    const s = text(data.subarray(pos, nl));
    pos = nl + 1;
    return s;
  };
  const pop = (): PyValue => {
    if (stack.length === 0) fail("stack underflow");
    return stack.pop() as PyValue;
  };
  const top = (): PyValue => {
    if (stack.length === 0) fail("stack underflow");
    return stack[stack.length - 1];
  };
  const popMark = (): PyValue[] => {
    const items = stack;
    const prev = marks.pop();
    if (prev === undefined) fail("no MARK to pop to");
    stack = prev as PyValue[];
    return items;
  };
  const pushGlobal = (module: string, name: string) => {
    if (!hooks.allowGlobal(module, name)) {
      throw new UnsafePickleError(hooks.file, {
        global: `${module}.${name}`,
        offset: opAt,
        problem: `refused global ${module}.${name} at pickle byte ${opAt}: only tensor storages and rebuild functions are accepted (loading this file in Python without weights_only could run code)`,
      });
    }
    stack.push(new PyGlobal(module, name));
  };
  const setItems = (target: PyValue, items: PyValue[]) => {
    if (!(target instanceof PyDict)) fail("SETITEM(S) on something that is not a dict");
    if (items.length % 2 !== 0) fail("SETITEMS with an odd number of items");
    for (let i = 0; i < items.length; i += 2) (target as PyDict).map.set(items[i], items[i + 1]);
  };
  const appendTo = (target: PyValue, items: PyValue[]) => {
    if (!(target instanceof PyList)) fail("APPEND(S) on something that is not a list");
    (target as PyList).items.push(...items);
  };

  for (;;) {
    opAt = pos;
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) fail("pickle protocol above 5");
        break;
      case 0x95: // FRAME: frames are contiguous in the stream; the length only helps buffering
        u64();
        break;
      case 0x2e: // STOP
        if (stack.length !== 1 || marks.length !== 0) fail("STOP with a malformed stack");
        return { value: stack[0], end: pos };
      case 0x28: // MARK
        marks.push(stack);
        stack = [];
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT
        need(4);
        stack.push(view.getInt32(pos, true));
        pos += 4;
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: {
        // LONG1: little-endian two's complement of n bytes
        const n = u8();
        const b = bytes(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
        if (n > 0 && b[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        stack.push(
          v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v,
        );
        break;
      }
      case 0x47: // BINFLOAT (big-endian double)
        need(8);
        stack.push(view.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x58: // BINUNICODE
        stack.push(text(bytes(u32())));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text(bytes(u8())));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(text(bytes(u64())));
        break;
      case 0x54: // BINSTRING (Python 2 str): latin-1
        stack.push(latin1.decode(bytes(u32())));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(latin1.decode(bytes(u8())));
        break;
      case 0x42: // BINBYTES
        stack.push(bytes(u32()).slice());
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(bytes(u8()).slice());
        break;
      case 0x8e: // BINBYTES8
        stack.push(bytes(u64()).slice());
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push(new PyTuple([]));
        break;
      case 0x74: {
        // TUPLE (popMark replaces `stack`: take the items before pushing)
        const items = popMark();
        stack.push(new PyTuple(items));
        break;
      }
      case 0x85: // TUPLE1
        stack.push(new PyTuple([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        stack.push(new PyTuple([pop(), b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        stack.push(new PyTuple([pop(), b, c]));
        break;
      }
      case 0x5d: // EMPTY_LIST
        stack.push(new PyList());
        break;
      case 0x6c: {
        // LIST
        const items = popMark();
        stack.push(new PyList(items));
        break;
      }
      case 0x61: // APPEND
        appendTo(stack[stack.length - 2], [pop()]);
        break;
      case 0x65: {
        // APPENDS
        const items = popMark();
        appendTo(top(), items);
        break;
      }
      case 0x7d: // EMPTY_DICT
        stack.push(new PyDict());
        break;
      case 0x64: {
        // DICT
        const d = new PyDict();
        setItems(d, popMark());
        stack.push(d);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
      case 0x6a: {
        // LONG_BINGET
        const idx = op === 0x68 ? u8() : u32();
        if (!memo.has(idx)) fail(`memo ${idx} is not set`);
        stack.push(memo.get(idx) as PyValue);
        break;
      }
      case 0x63: {
        // GLOBAL "module\nname\n"
        const module = line();
        pushGlobal(module, line());
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== "string" || typeof name !== "string") fail("STACK_GLOBAL needs two strings");
        pushGlobal(module as string, name as string);
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        if (!(args instanceof PyTuple)) fail("REDUCE arguments are not a tuple");
        const fn = pop();
        stack.push(hooks.reduce(fn, args as PyTuple, opAt));
        break;
      }
      case 0x62: {
        // BUILD
        const state = pop();
        hooks.build(top(), state, opAt);
        break;
      }
      case 0x51: // BINPERSID
        stack.push(hooks.persistentLoad(pop(), opAt));
        break;
      default:
        throw new UnsafePickleError(hooks.file, {
          opcode: opcodeName(op),
          offset: opAt,
          problem: `refused opcode ${opcodeName(op)} at pickle byte ${opAt}: not one a tensor state dict needs`,
        });
    }
  }
}
