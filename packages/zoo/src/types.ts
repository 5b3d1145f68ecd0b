/** The zoo's in-memory shape: what `buildZoo` returns and the cache stores. */
import type { ZooConfig } from "./config.js";
import type { Head, Params } from "./model.js";
import type { ZooData } from "./tasks.js";

export interface Expert {
  readonly name: string;
  readonly backbone: Params;
  readonly head: Head;
  readonly fisher: Params;
  readonly grams: Params;
}

export interface ZooSummary {
  readonly hash: string;
  readonly tasks: {
    name: string;
    description: string;
    numClasses: number;
    expertVal: number;
    expertTest: number;
    jointTest: number;
  }[];
  readonly buildSeconds: number;
  readonly createdAt: string;
}

export interface Zoo {
  readonly config: ZooConfig;
  readonly dir: string;
  readonly data: ZooData;
  readonly pretrained: { readonly backbone: Params; readonly head: Head };
  readonly experts: Expert[];
  readonly joint: { readonly backbone: Params; readonly heads: Head[] };
  readonly summary: ZooSummary;
  /** True when loaded from the cache instead of trained. */
  readonly cached: boolean;
}

export interface BuildOptions {
  /** Cache root (default `$X_ZOO_CACHE` or `.zoo-cache`). */
  readonly root?: string;
  /** Worker threads for training (default 2; 0 = in-process). */
  readonly workers?: number;
  /** Rebuild even when the cache has this zoo. */
  readonly force?: boolean;
  /** Write the zoo to the cache (default true); false keeps it in memory only (tests). */
  readonly persist?: boolean;
  readonly progress?: (phase: string, done: number, total: number) => void;
}
