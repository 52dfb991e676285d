import Foundation

/// SplitMix64: a small deterministic generator for LoRA initialization, so a seed always gives the same adapter on
/// every machine. Its values are not torch's (peft draws from torch's Philox/MT streams); only the distribution matches.
struct SeededRandom {
    var state: UInt64

    init(seed: UInt64, stream: UInt64) {
        state = seed ^ (stream &+ 1) &* 0x9E37_79B9_7F4A_7C15
        _ = next()
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 random bits.
    mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Uniform in [-bound, bound), like torch's `uniform_(-bound, bound)`.
    mutating func uniform(_ bound: Double) -> Float { Float((2 * unit() - 1) * bound) }

    /// Normal with mean 0 (Box–Muller), like torch's `normal_(std=std)`.
    mutating func normal(_ std: Double) -> Float {
        let u1 = max(unit(), 0x1p-53), u2 = unit()
        return Float(std * (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }
}
