// Types of browser-bundle.mjs.
export interface NodeImport {
  readonly id: string;
  readonly importer: string;
}
export declare function isNodeBuiltin(id: string): boolean;
export declare function bundleForBrowser(
  entry: string,
): Promise<{ nodeImports: NodeImport[]; code: string; bytes: number; modules: number }>;
