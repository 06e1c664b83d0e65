/**
 * A WebAssembly SIMD kernel for the exact vector fallback: integer dot products of one query
 * (int16) with every row of an int8 matrix. Int8 rows are a quarter of the bytes of float32 rows,
 * and a scan over 100k × 512 is bound by memory traffic, so the quantised pass is the fast one; the
 * caller turns its scores into bounds and rescores the few rows that can still be in the top k
 * from the float32 rows, so the answer stays exact.
 *
 * The module is assembled here from its opcodes (about 150 bytes), so there is no build step and
 * no binary file to trust. Its text form:
 *
 *   (func (export "scan") (param $x i32) (param $q i32) (param $out i32) (param $rows i32) (param $stride i32)
 *     (local $end i32) (local $j i32) (local $qp i32) (local $v v128) (local $acc v128)
 *     end = x + rows * stride
 *     block  (br_if 0 (i32.eqz rows))
 *       loop                                   ;; one row
 *         acc = 0; j = 0; qp = q
 *         loop                                 ;; 16 int8 of the row, 16 int16 of the query
 *           v = v128.load(x + j)
 *           acc += i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(v), v128.load(qp))
 *           acc += i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(v), v128.load offset=16 (qp))
 *           qp += 32; j += 16; br_if 0 (j < stride)
 *         end
 *         i32.store(out, lane0 + lane1 + lane2 + lane3); out += 4
 *         x += stride; br_if 0 (x < end)
 *       end
 *     end)
 *
 * Rows are padded with zeros to a multiple of 16 bytes (`stride`). Sums fit an i32 as long as
 * dims × 127 × QUERY_MAX < 2^31 (dims ≤ 2000 here).
 */

/** The query is scaled to at most this magnitude per component. */
const QUERY_MAX = 8191;

const simd = (op: number) => (op < 0x80 ? [0xfd, op] : [0xfd, (op & 0x7f) | 0x80, op >> 7]);
const get = (i: number) => [0x20, i];
const set = (i: number) => [0x21, i];
const tee = (i: number) => [0x22, i];
const i32const = (n: number) => [0x41, n]; // small non-negative constants only (< 64)
const v128load = (offset: number) => [...simd(0x00), 4, offset];
const [X, Q, OUT, ROWS, STRIDE, END, J, QP, V, ACC] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
const I32_ADD = 0x6a;
const I32_MUL = 0x6c;
const I32_LT_U = 0x49;
const I32_EQZ = 0x45;
const BR_IF = 0x0d;
const END_OP = 0x0b;
const BLOCK = [0x02, 0x40];
const LOOP = [0x03, 0x40];
const EXTEND_LOW = simd(0x87);
const EXTEND_HIGH = simd(0x88);
const DOT = simd(0xba);
const I32X4_ADD = simd(0xae);
const lane = (n: number) => [...simd(0x1b), n];

const body = [
  2, // two local groups
  3,
  0x7f, // end, j, qp: i32
  2,
  0x7b, // v, acc: v128
  ...get(X),
  ...get(ROWS),
  ...get(STRIDE),
  I32_MUL,
  I32_ADD,
  ...set(END),
  ...BLOCK,
  ...get(ROWS),
  I32_EQZ,
  BR_IF,
  0,
  ...LOOP,
  ...simd(0x0c),
  ...new Array(16).fill(0),
  ...set(ACC),
  ...i32const(0),
  ...set(J),
  ...get(Q),
  ...set(QP),
  ...LOOP,
  ...get(X),
  ...get(J),
  I32_ADD,
  ...v128load(0),
  ...set(V),
  ...get(ACC),
  ...get(V),
  ...EXTEND_LOW,
  ...get(QP),
  ...v128load(0),
  ...DOT,
  ...I32X4_ADD,
  ...get(V),
  ...EXTEND_HIGH,
  ...get(QP),
  ...v128load(16),
  ...DOT,
  ...I32X4_ADD,
  ...set(ACC),
  ...get(QP),
  ...i32const(32),
  I32_ADD,
  ...set(QP),
  ...get(J),
  ...i32const(16),
  I32_ADD,
  ...tee(J),
  ...get(STRIDE),
  I32_LT_U,
  BR_IF,
  0,
  END_OP,
  ...get(OUT),
  ...get(ACC),
  ...lane(0),
  ...get(ACC),
  ...lane(1),
  I32_ADD,
  ...get(ACC),
  ...lane(2),
  I32_ADD,
  ...get(ACC),
  ...lane(3),
  I32_ADD,
  0x36,
  2,
  0, // i32.store align=4
  ...get(OUT),
  ...i32const(4),
  I32_ADD,
  ...set(OUT),
  ...get(X),
  ...get(STRIDE),
  I32_ADD,
  ...tee(X),
  ...get(END),
  I32_LT_U,
  BR_IF,
  0,
  END_OP,
  END_OP,
  END_OP,
];

const leb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
};
const section = (id: number, bytes: number[]) => [id, ...leb(bytes.length), ...bytes];
const name = (s: string) => [s.length, ...Buffer.from(s)];

const moduleBytes = new Uint8Array([
  ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
  ...section(1, [1, 0x60, 5, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0]), // type: (i32 ×5) → ()
  ...section(2, [1, ...name('env'), ...name('memory'), 0x02, 0x00, 1]), // import memory, min 1 page
  ...section(3, [1, 0]),
  ...section(7, [1, ...name('scan'), 0x00, 0]),
  ...section(10, [1, ...leb(body.length), ...body]),
]);

// The project's type libraries (no lib.dom) leave WebAssembly undeclared; the little used here:
declare const WebAssembly: {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (mod: WasmModule, imports: object) => { exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number }) => { buffer: ArrayBuffer };
};
type WasmModule = { readonly __brand: 'WebAssembly.Module' };

let compiled: WasmModule | null | undefined;

/** The compiled module, or null where this runtime has no WebAssembly SIMD. */
function kernelModule(): WasmModule | null {
  compiled ??= WebAssembly.validate(moduleBytes) ? new WebAssembly.Module(moduleBytes) : null;
  return compiled;
}

/**
 * One int8 matrix in its own WebAssembly memory, laid out as [query int16 | scores int32 | rows].
 * Each row is quantised with its own scale (its largest magnitude / 127), which keeps the error
 * bound of a row proportional to that row's own values.
 */
export class Int8Matrix {
  readonly stride: number;
  /** Per row: the scale (x ≈ scale · x̂) and Σ|x̂|, both used by the caller's error bound. */
  readonly scales: Float64Array;
  readonly l1: Float64Array;
  private readonly query: Int16Array;
  private readonly scores: Int32Array;
  private readonly outOff: number;
  private readonly xOff: number;
  private readonly scan: (x: number, q: number, out: number, rows: number, stride: number) => void;

  /** Quantises `rows` float rows (row-major, `dims` wide); null where there is no SIMD. */
  static from(data: Float32Array, rows: number, dims: number): Int8Matrix | null {
    const mod = kernelModule();
    if (!mod || rows === 0 || dims > 2000) return null;
    return new Int8Matrix(mod, data, rows, dims);
  }

  private constructor(
    mod: WasmModule,
    data: Float32Array,
    readonly rows: number,
    readonly dims: number,
  ) {
    const stride = Math.ceil(dims / 16) * 16;
    this.stride = stride;
    this.outOff = stride * 2;
    this.xOff = Math.ceil((this.outOff + rows * 4) / 16) * 16;
    const memory = new WebAssembly.Memory({
      initial: Math.max(1, Math.ceil((this.xOff + rows * stride) / 65536)),
    });
    const instance = new WebAssembly.Instance(mod, { env: { memory } });
    this.scan = instance.exports.scan as Int8Matrix['scan'];
    this.query = new Int16Array(memory.buffer, 0, stride);
    this.scores = new Int32Array(memory.buffer, this.outOff, rows);
    this.scales = new Float64Array(rows);
    this.l1 = new Float64Array(rows);
    const x = new Int8Array(memory.buffer, this.xOff, rows * stride);
    for (let r = 0; r < rows; r++) {
      const base = r * dims;
      let max = 0;
      for (let j = 0; j < dims; j++) max = Math.max(max, Math.abs(data[base + j]!));
      const scale = max / 127;
      let l1 = 0;
      if (scale > 0)
        for (let j = 0; j < dims; j++) {
          const v = Math.round(data[base + j]! / scale);
          x[r * stride + j] = v;
          l1 += Math.abs(v);
        }
      this.scales[r] = scale;
      this.l1[r] = l1;
    }
  }

  /**
   * Integer scores of every row against `q`, and the query's scale `t` (q ≈ t · q̂), so that
   * q·x ≈ scales[r] · t · scores[r]. The scores array is reused by the next call.
   */
  dots(q: Float32Array): { scores: Int32Array; t: number } {
    let max = 0;
    for (let j = 0; j < this.dims; j++) max = Math.max(max, Math.abs(q[j]!));
    const t = max / QUERY_MAX;
    this.query.fill(0);
    if (t > 0) for (let j = 0; j < this.dims; j++) this.query[j] = Math.round(q[j]! / t);
    this.scan(this.xOff, 0, this.outOff, this.rows, this.stride);
    return { scores: this.scores, t };
  }
}
