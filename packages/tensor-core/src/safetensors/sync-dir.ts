// After a rename, the new directory entry is only durable once the directory itself is fsynced (POSIX);
// without it a crash can lose the rename even though the file's data was synced.

import { open } from "node:fs/promises";

/** Error codes of platforms that cannot open or fsync a directory (Windows, some network file systems). */
const UNSUPPORTED = new Set(["EISDIR", "EPERM", "EACCES", "EINVAL", "ENOTSUP", "EBADF"]);

/** fsyncs directory `dir` so renames into it survive a crash; a no-op where directories cannot be synced. */
export async function syncDirectory(dir: string): Promise<void> {
  let fh: Awaited<ReturnType<typeof open>> | undefined;
  try {
    fh = await open(dir, "r");
    await fh.sync();
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === undefined || !UNSUPPORTED.has(code)) throw cause;
  } finally {
    await fh?.close();
  }
}
