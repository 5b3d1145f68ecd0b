/** The demo cannot be served or exported: the message names the folder, file or port and the problem. */
export class DemoServerError extends Error {
  override readonly name = "DemoServerError";
}
