// The exactness suite of half.test.ts (all 65536 patterns, reference rounding, NumPy vectors) once more
// with WebAssembly SIMD disabled, so both codec paths pass the same tests.
import { afterAll, beforeAll } from "vitest";
import { setSimdEnabled } from "../src/index.js";
import "./half.test.js";

beforeAll(() => {
  setSimdEnabled(false);
});

afterAll(() => {
  setSimdEnabled(true);
});
