// The opened inputs of a checkpoint merge and the ways the executor reads them: decoded to float32
// (cast to the compute dtype, cut to a tensor's common block, checked for non-finite values on first
// read) or as stored bytes (whole tensors or element ranges) into reusable buffers.

import { mapLimited } from "../async.js";
import { ByteBuffers, ReadBuffers } from "../buffers.js";
import type { MergeConfig } from "../config/index.js";
import { NonFiniteReport } from "../engine/nonfinite.js";
import { MergeInputError } from "../errors.js";
import { AuxFiles } from "../io/aux-files.js";
import { castToComputeDType } from "../io/cast.js";
import { openModel } from "../io/source.js";
import type { TensorSource } from "../io/types.js";
import type { AuxInput, TensorAux } from "../method.js";
import type { InputRefs, PlanHeaders, PlannedOutput, SourceRef } from "../plan/plan.js";
import type { PlannedTensor } from "../plan/tensors.js";
import { extractBlock } from "./blocks.js";

/**
 * Permutes the rows of a vocabulary-indexed tensor's inputs (their input indices, float32 data and
 * row counts) to the output vocabulary: returns one [rows, cols] array per input, in the same order.
 */
export type VocabularyPermuter = (
  inputs: readonly number[],
  tensors: readonly { readonly data: Float32Array; readonly rows: number }[],
  cols: number,
  withBase: boolean,
) => Float32Array[];

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** A slot's stored bytes as read: its dtype and exactly numel × element size bytes (4-byte aligned). */
export interface StoredSlice {
  readonly dtype: string;
  readonly bytes: Uint8Array;
}

export class CheckpointInputs {
  private readonly buffers = new ReadBuffers();
  /** Stored-bytes buffers: two banks (current piece, prefetched next), plain or shared. */
  private readonly rawBanks = [new ByteBuffers(), new ByteBuffers()] as const;
  private readonly sharedRawBanks = [new ByteBuffers(true), new ByteBuffers(true)] as const;
  /** Read stored-bytes buffers from shared memory (helper threads work on them in place). */
  useShared = false;
  /** (slot, tensor) pairs already checked for non-finite values. */
  private readonly checked = new Set<string>();

  private constructor(
    /** Every opened input, aligned with `InputRefs.all` (a planned tensor's `SourceRef.input`). */
    readonly sources: readonly TensorSource[],
    readonly reference: TensorSource,
    readonly base: TensorSource | undefined,
    readonly models: readonly TensorSource[],
    private readonly computeDtype: MergeConfig["dtype"],
    readonly readConcurrency: number,
    readonly nonFinite: NonFiniteReport,
    /** Per-model statistics files (Fisher, Gram) the method reads, when it declares any. */
    private readonly aux: AuxFiles | undefined,
  ) {}

  /** Opens every referenced model once (a reference listed twice is the same source). */
  static async open(
    refs: InputRefs,
    options: {
      baseDir?: string;
      computeDtype?: MergeConfig["dtype"];
      readConcurrency?: number;
      allowNonfinite?: boolean;
      auxInputs?: readonly AuxInput[];
    },
  ): Promise<CheckpointInputs> {
    const opened: TensorSource[] = [];
    try {
      for (const ref of refs.all) opened.push(await openModel(ref, options.baseDir));
      const at = (ref: string) => opened[refs.all.indexOf(ref)]!;
      const models = refs.models.map(at);
      const aux = await AuxFiles.open(
        options.auxInputs ?? [],
        models.map((m) => m.path),
        models.map((m) => m.label),
      );
      return new CheckpointInputs(
        opened,
        at(refs.reference),
        refs.base !== undefined ? at(refs.base) : undefined,
        models,
        options.computeDtype,
        Math.max(1, Math.floor(options.readConcurrency ?? 4)),
        new NonFiniteReport(options.allowNonfinite ?? false),
        aux,
      );
    } catch (err) {
      for (const s of opened) await s.close().catch(() => {});
      throw err;
    }
  }

  /** The opened input `input` (an index into `InputRefs.all`). */
  sourceAt(input: number): TensorSource {
    return this.sources[input]!;
  }

  /** Paths of every opened input (an output must not overlap them). */
  get paths(): string[] {
    return this.sources.map((s) => s.path);
  }

  get headers(): PlanHeaders {
    return { reference: this.reference, base: this.base, models: this.models };
  }

  /** The source of read slot `slot`: 0 = base (or reference), 1 + i = merged model i. */
  source(slot: number): TensorSource {
    return slot === 0 ? (this.base ?? this.reference) : this.models[slot - 1]!;
  }

  /** Decodes one input tensor into read slot `slot`, cast to the compute dtype, checked once for non-finite values. */
  async readFloat32(src: TensorSource, name: string, slot: number): Promise<Float32Array> {
    const data = await src.readFloat32(name, this.buffers.view(slot, numel(src.info(name)!.shape)));
    const key = `${src.label}\u0000${name}`;
    if (!this.checked.has(key)) {
      this.checked.add(key);
      this.nonFinite.check(src.label, name, data);
    }
    if (this.computeDtype) castToComputeDType(data, this.computeDtype);
    return data;
  }

  /**
   * Reads the inputs of a merged tensor, cut to its common block when it has one: the base (when the
   * method uses one; `baseFull` is its uncut copy) and the taking models. Vocabulary-indexed tensors of
   * a tokenizer merge come back with their rows permuted to the output vocabulary (`permute`).
   */
  async readMerged(p: PlannedOutput, usesBase: boolean, permute?: VocabularyPermuter) {
    const { reads } = p;
    const base = usesBase ? reads.base : undefined;
    const wanted = base ? [base, ...reads.models] : [...reads.models];
    const read = await mapLimited(wanted, this.readConcurrency, (r, slot) =>
      this.readFloat32(this.sourceAt(r.input), r.name, slot),
    );
    if (p.vocabulary) {
      if (!permute)
        throw new MergeInputError(`tensor '${p.name}' is vocabulary-indexed but no tokenizer was built`);
      const rows = permute(
        wanted.map((r) => r.input),
        read.map((data, k) => ({
          data,
          rows: this.sourceAt(wanted[k]!.input).info(wanted[k]!.name)!.shape[0]!,
        })),
        p.shape[1]!,
        base !== undefined,
      );
      if (this.computeDtype) for (const r of rows) castToComputeDType(r, this.computeDtype);
      const off = base ? 1 : 0;
      return {
        base: base ? rows[0] : undefined,
        baseFull: base ? rows[0] : undefined,
        models: rows.slice(off),
      };
    }
    const cut = (a: Float32Array, r: SourceRef) =>
      p.block
        ? extractBlock(a, this.sourceAt(r.input).info(r.name)!.shape[1]!, p.block.rows, p.block.cols)
        : a;
    const off = base ? 1 : 0;
    const baseFull = base ? read[0] : undefined;
    return {
      base: baseFull && base ? cut(baseFull, base) : undefined,
      baseFull,
      models: reads.models.map((r, j) => cut(read[j + off]!, r)),
    };
  }

  /** Whether any model's statistics file of `kind` covers any of the tensors `names`. */
  auxCovers(kind: AuxInput["kind"], names: readonly string[]): boolean {
    return this.aux?.covers(kind, names) ?? false;
  }

  /** Where the statistics files of `kind` were looked for (for messages); undefined without any declared. */
  auxWhere(kind: AuxInput["kind"]): string | undefined {
    return this.aux?.describe(kind) || undefined;
  }

  /** The per-model statistics (Fisher, Gram) of a merged tensor, cut like it; undefined without any. */
  readAux(p: PlannedTensor): Promise<TensorAux | undefined> {
    if (!this.aux) return Promise.resolve(undefined);
    const shape = p.block ? [p.block.rows, p.block.cols] : p.shape;
    return this.aux.read(p.name, shape, p.models, (data, stored) =>
      p.block ? extractBlock(data, stored[1]!, p.block.rows, p.block.cols) : data,
    );
  }

  /**
   * Reads elements [start, start + count) of tensor `names[i]` of `sources[i]`, as stored, into raw
   * bank `bank` (the whole tensor when count covers it).
   */
  readStored(
    sources: readonly TensorSource[],
    names: readonly string[],
    bank: 0 | 1,
    start: number,
    count: number,
    total: number,
  ): Promise<StoredSlice[]> {
    const buffers = (this.useShared ? this.sharedRawBanks : this.rawBanks)[bank];
    const slots = sources.map((_, slot) => slot);
    return mapLimited(slots, this.readConcurrency, async (slot) => {
      const src = sources[slot]!;
      const name = names[slot]!;
      const dtype = src.info(name)!.dtype;
      const size = dtype === "F32" ? 4 : 2;
      const bytes = buffers.view(slot, count * size);
      if (count === total) await src.readBytesInto(name, bytes);
      else await src.readBytesRangeInto(name, start * size, bytes);
      return { dtype, bytes };
    });
  }

  async close(): Promise<void> {
    await this.aux?.close().catch(() => {});
    for (const s of this.sources) await s.close().catch(() => {});
  }
}
