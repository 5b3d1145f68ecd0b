// Types of workspace.mjs (for TypeScript configs and tests that import it).
export declare const root: string;

export interface WorkspacePackage {
  readonly name: string;
  readonly dir: string;
  readonly group: "packages" | "apps";
  readonly private: boolean;
  /** `exports` subpath → built JavaScript file ("import" condition), relative to the package. */
  readonly exports: Readonly<Record<string, string>>;
  /** Import specifiers of the entry points (`@x/a`, `@x/a/sub`). */
  readonly specifiers: readonly string[];
  readonly json: Readonly<Record<string, unknown>>;
}

export declare function importTargets(exportsField: unknown): Record<string, string>;
export declare function workspacePackages(): WorkspacePackage[];
export declare function publishablePackages(): WorkspacePackage[];
