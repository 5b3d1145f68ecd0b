import { describe, expect, it } from "vitest";
import { formatBytes, formatSeconds } from "../src/index.js";

describe("formatBytes / formatSeconds", () => {
  it("formats sizes in decimal units", () => {
    expect([0, 999, 1000, 1500, 4.2e9, 3e15].map(formatBytes)).toEqual([
      "0B",
      "999B",
      "1.0KB",
      "1.5KB",
      "4.2GB",
      "3000.0TB",
    ]);
  });

  it("formats durations as seconds, minutes or hours", () => {
    expect([0, 12.34, 59.9, 60, 245, 3599, 3600, 7620].map(formatSeconds)).toEqual([
      "0.0s",
      "12.3s",
      "59.9s",
      "1m00s",
      "4m05s",
      "59m59s",
      "1h00m",
      "2h07m",
    ]);
  });
});
