// Writes test vectors for arcd's fdlibm-method sin, cos and atan2
// (workers/compiler/fdmath.c) from Node's own Math.sin, Math.cos and Math.atan2,
// which are what MindAR's compiler calls. Run by hand with Node 20:
//   node tests/tools/fdmath_vectors.mjs COUNT OUT.bin
// Record layout (little-endian float64): op (0 sin, 1 cos, 2 atan2), a, b, result.
// The arguments look like the compiler's: float32 angles around [-pi, pi] and
// beyond, and differences of float32 pyramid values for atan2.
import fs from 'fs';

const count = Number(process.argv[2] || 1000);
const out = process.argv[3] || 'fdmath-vectors.bin';
let seed = 20261123;
const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
const f32 = Math.fround;
const buf = Buffer.alloc(count * 3 * 32);
let o = 0;
const put = (op, a, b, r) => { buf.writeDoubleLE(op, o); buf.writeDoubleLE(a, o + 8); buf.writeDoubleLE(b, o + 16); buf.writeDoubleLE(r, o + 24); o += 32; };
const angle = (i) => {
  const k = i % 8;
  if (k < 5) return f32((rnd() * 2 - 1) * (Math.PI + 0.02));          // the usual range
  if (k === 5) return f32((rnd() * 2 - 1) * 40);                       // odd parabola fits
  if (k === 6) return f32((rnd() * 2 - 1) * 1e5);                      // degenerate ones
  return (rnd() * 2 - 1) * Math.pow(2, -40 * rnd());                   // tiny
};
const grad = (i) => {
  const k = i % 6;
  if (k === 0) return 0;
  if (k === 1) return Math.round((rnd() * 2 - 1) * 255);
  if (k === 2) return f32(rnd() * 255) - f32(rnd() * 255);
  if (k === 3) return f32(rnd() * 3) - f32(rnd() * 3);
  if (k === 4) return (f32(rnd()) - f32(rnd())) * 1e-6;
  return f32((rnd() * 2 - 1) * 1e4);
};
for (let i = 0; i < count; i++) {
  const a = angle(i);
  put(0, a, 0, Math.sin(a));
  put(1, a, 0, Math.cos(a));
  const y = grad(i), x = grad(i * 7 + 3);
  put(2, y, x, Math.atan2(y, x));
}
fs.writeFileSync(out, buf.subarray(0, o));
console.log(`wrote ${count * 3} cases to ${out}`);
