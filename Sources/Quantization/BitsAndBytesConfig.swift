import Values

/// What to quantize and how: transformers' `BitsAndBytesConfig`, as a recipe's `quantization:` section or a
/// pre-quantized model's `quantization_config` in config.json.
public struct BitsAndBytesConfig: Sendable, Equatable {
    public enum Mode: Sendable, Equatable {
        case fourBit(FourBitType)
        case eightBit
    }
    public var mode: Mode
    public var doubleQuant: Bool
    public var blocksize: Int
    public var computeDType: ComputeDType
    public var quantStorage: String
    public var int8Threshold: Double
    /// `llm_int8_skip_modules`: module names kept in float (nil: transformers' default, the output head only, which
    /// sftrun never quantizes anyway).
    public var skipModules: [String]?

    public init(mode: Mode, doubleQuant: Bool = false, blocksize: Int = 64, computeDType: ComputeDType = .float32,
                quantStorage: String = "uint8", int8Threshold: Double = 6, skipModules: [String]? = nil) {
        self.mode = mode
        self.doubleQuant = doubleQuant
        self.blocksize = blocksize
        self.computeDType = computeDType
        self.quantStorage = quantStorage
        self.int8Threshold = int8Threshold
        self.skipModules = skipModules
    }

    /// From config.json's `quantization_config` (nil when it is not bitsandbytes, or quantizes nothing).
    public init?(quantizationConfig q: Value, file: String) throws {
        guard q["quant_method"]?.stringValue == "bitsandbytes" else {
            if let m = q["quant_method"]?.stringValue {
                throw QuantizationError(file, "quantization_config.quant_method is \"\(m)\"; sftrun reads bitsandbytes-quantized checkpoints only (dequantize the model with its own tools, or use the original weights)")
            }
            return nil
        }
        let four = q["load_in_4bit"]?.boolValue ?? q["_load_in_4bit"]?.boolValue ?? false
        let eight = q["load_in_8bit"]?.boolValue ?? q["_load_in_8bit"]?.boolValue ?? false
        if four {
            let name = q["bnb_4bit_quant_type"]?.stringValue ?? "fp4"
            guard let type = FourBitType(rawValue: name) else {
                throw QuantizationError(file, "quantization_config.bnb_4bit_quant_type \"\(name)\" is not nf4 or fp4")
            }
            mode = .fourBit(type)
        } else if eight {
            mode = .eightBit
        } else {
            return nil
        }
        doubleQuant = q["bnb_4bit_use_double_quant"]?.boolValue ?? false
        blocksize = 64
        let compute = q["bnb_4bit_compute_dtype"]?.stringValue ?? "float32"
        computeDType = ComputeDType(rawValue: compute) ?? .float32
        quantStorage = q["bnb_4bit_quant_storage"]?.stringValue ?? "uint8"
        int8Threshold = q["llm_int8_threshold"]?.doubleValue ?? 6
        skipModules = q["llm_int8_skip_modules"]?.arrayValue?.compactMap(\.stringValue)
    }

    public var isFourBit: Bool { if case .fourBit = mode { return true }; return false }

    /// `quantization_config` exactly as transformers 5 writes it into config.json.
    public var json: Value {
        var four: FourBitType = .fp4
        if case .fourBit(let t) = mode { four = t }
        let skip: Value = skipModules.map { .array($0.map { .string($0) }) } ?? .null
        let config: Value = [
            "_load_in_4bit": .bool(isFourBit), "_load_in_8bit": .bool(!isFourBit),
            "bnb_4bit_compute_dtype": .string(computeDType.rawValue), "bnb_4bit_quant_storage": .string(quantStorage),
            "bnb_4bit_quant_type": .string(four.rawValue), "bnb_4bit_use_double_quant": .bool(doubleQuant),
            "llm_int8_enable_fp32_cpu_offload": .bool(false), "llm_int8_has_fp16_weight": .bool(false),
            "llm_int8_skip_modules": skip, "llm_int8_threshold": .double(int8Threshold),
            "load_in_4bit": .bool(isFourBit), "load_in_8bit": .bool(!isFourBit), "quant_method": .string("bitsandbytes"),
        ]
        return config
    }

    /// transformers' rule (`replace_with_bnb_linear`): a module is kept in float when a skip entry equals its path or
    /// appears in it followed by a dot.
    public func skips(_ modulePath: String) -> Bool {
        guard let skipModules else { return false }
        return skipModules.contains { modulePath == $0 || modulePath.contains($0 + ".") || modulePath.hasSuffix("." + $0) }
    }
}

public struct QuantizationError: Error, CustomStringConvertible, Sendable {
    public var file: String
    public var message: String
    public init(_ file: String, _ message: String) { self.file = file; self.message = message }
    public var description: String { "\(file): \(message)" }
}
