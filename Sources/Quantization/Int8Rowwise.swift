/// LLM.int8() weight storage (bitsandbytes `Int8Params`): each row of the weight, first rounded to float16 as
/// bitsandbytes does, is scaled by 127 / its absmax and rounded half-to-even to int8 (`CB`); the absmax per row is
/// kept in float32 (`SCB`).
public enum Int8Rowwise {
    public static func quantize(_ w: UnsafeBufferPointer<Float>, rows: Int, columns: Int) -> (cb: [Int8], scb: [Float]) {
        var cb = [Int8](repeating: 0, count: rows * columns), scb = [Float](repeating: 0, count: rows)
        var half = [Float](repeating: 0, count: columns)
        for r in 0..<rows {
            var m: Float = 0
            for c in 0..<columns {
                half[c] = Float(Float16(w[r * columns + c]))
                m = max(m, abs(half[c]))
            }
            scb[r] = m
            // `127.0 / row_stats` in PyTorch is a reciprocal times the scalar, which rounds differently from a division.
            let scale = 127 * (1 / m)
            for c in 0..<columns {
                let q = (half[c] * scale).rounded(.toNearestOrEven)
                cb[r * columns + c] = q.isNaN ? 0 : Int8(max(-128, min(127, q)))
            }
        }
        return (cb, scb)
    }

    /// The per-row factor bitsandbytes' CPU training path multiplies `CB` by: `SCB · (1/127)` in float32.
    static func rowScale(_ scb: Float) -> Float { scb * Float(1.0 / 127.0) }
}
