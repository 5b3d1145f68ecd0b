// The few WebAssembly JS-API members the fast path uses (the project's TypeScript libs do not declare
// them; tensor-core's codecs do the same).

export interface WasmMemory {
  readonly buffer: SharedArrayBuffer;
  grow(pages: number): number;
}
export interface WasmGlobal {
  value: number;
}
// biome-ignore lint/suspicious/noEmptyInterface: an opaque compiled module
export interface WasmModule {}

interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { exports: Record<string, unknown> };
  Memory: new (d: { initial: number; maximum: number; shared: true }) => WasmMemory;
}

export const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
