/** Rooted trees as parent arrays (parent[root] = -1) and spanning-tree read-out. */

export class TopologyError extends Error {
  override readonly name = "TopologyError";
}

/**
 * Prim's spanning tree on a complete graph given by a symmetric cost function, grown from
 * `root`; O(n^2). `maximize` picks the maximum-weight tree. Returns the parent array, which is
 * already oriented away from the root.
 */
export function primTree(
  n: number,
  root: number,
  cost: (i: number, j: number) => number,
  maximize: boolean,
): Int32Array {
  const parent = new Int32Array(n).fill(-1);
  const inTree = new Uint8Array(n);
  const best = new Float64Array(n).fill(maximize ? -Infinity : Infinity);
  const from = new Int32Array(n).fill(-1);
  inTree[root] = 1;
  for (let j = 0; j < n; j++) {
    if (j === root) continue;
    best[j] = cost(root, j);
    from[j] = root;
  }
  for (let added = 1; added < n; added++) {
    let pick = -1;
    for (let j = 0; j < n; j++) {
      if (inTree[j]) continue;
      if (pick < 0 || (maximize ? best[j]! > best[pick]! : best[j]! < best[pick]!)) pick = j;
    }
    inTree[pick] = 1;
    parent[pick] = from[pick]!;
    for (let j = 0; j < n; j++) {
      if (inTree[j]) continue;
      const c = cost(pick, j);
      if (maximize ? c > best[j]! : c < best[j]!) {
        best[j] = c;
        from[j] = pick;
      }
    }
  }
  return parent;
}

/** Buses in breadth-first order from the root (root first). Throws if parent is not a tree. */
export function bfsOrder(parent: Int32Array, root: number): Int32Array {
  const n = parent.length;
  const children: number[][] = Array.from({ length: n }, () => []);
  for (let j = 0; j < n; j++) {
    if (j === root) continue;
    const p = parent[j]!;
    if (p < 0 || p >= n) throw new TopologyError(`bus ${j} has no valid parent (${p})`);
    children[p]!.push(j);
  }
  const order = new Int32Array(n);
  let head = 0;
  let tail = 0;
  order[tail++] = root;
  while (head < tail) {
    const u = order[head++]!;
    for (const c of children[u]!) order[tail++] = c;
  }
  if (tail !== n)
    throw new TopologyError(`parent array is not a tree rooted at ${root} (${n - tail} buses unreachable)`);
  return order;
}

/** Children lists of a parent array. */
export function childrenOf(parent: Int32Array, root: number): number[][] {
  const children: number[][] = Array.from({ length: parent.length }, () => []);
  for (let j = 0; j < parent.length; j++) if (j !== root) children[parent[j]!]!.push(j);
  return children;
}

/** Undirected edge key "min-max". */
export function edgeKey(a: number, b: number): string {
  return a < b ? `${a}-${b}` : `${b}-${a}`;
}
