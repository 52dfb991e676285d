// swift-tools-version: 6.1
import PackageDescription

/// Layers, top to bottom: sftrun → SFTRunKit → (Recipes, Tokenization, HubClient, TensorCore) → Values/Jinja → C libraries.
/// Each systemLibrary target is imported by exactly one Swift module.
let package = Package(
    name: "sftrun",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "sftrun", targets: ["sftrun"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.1.1"),
    ],
    targets: [
        // C libraries (Debian: libyaml-dev, libopenblas-dev, libcurl4-openssl-dev, libpcre2-dev, zlib1g-dev, libzstd-dev).
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CPCRE2", pkgConfig: "libpcre2-8", providers: [.apt(["libpcre2-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),

        .target(name: "Values", dependencies: [
            "CYAML", .product(name: "OrderedCollections", package: "swift-collections"),
        ]),
        .target(name: "Recipes", dependencies: ["Values"]),
        .target(name: "Jinja", dependencies: ["Values"]),
        .target(name: "Tokenization", dependencies: ["Values", "Jinja", "CPCRE2"]),
        .target(name: "HubClient", dependencies: ["Values", "CCurl"]),
        .target(name: "TensorCore", dependencies: ["COpenBLAS", .product(name: "RealModule", package: "swift-numerics")]),
        .target(name: "WeightFiles", dependencies: ["Values"]),
        .target(name: "Models", dependencies: ["TensorCore", "WeightFiles", "Values"]),
        .target(name: "PEFT", dependencies: ["Models", "TensorCore", "WeightFiles", "Values"]),
        .target(name: "Quantization", dependencies: ["Models", "TensorCore", "WeightFiles", "Values"]),
        .target(name: "Training", dependencies: ["Models", "TensorCore", "Datasets", "WeightFiles", "Values",
                                                .product(name: "OrderedCollections", package: "swift-collections")]),
        .target(name: "Datasets", dependencies: ["Values", "CZlib", "CZstd", .product(name: "OrderedCollections", package: "swift-collections")]),
        .target(name: "SFTRunKit", dependencies: ["Values", "Recipes", "Tokenization", "HubClient", "TensorCore", "WeightFiles", "Models", "PEFT", "Quantization", "Datasets", "Training"]),
        .executableTarget(name: "sftrun", dependencies: [
            "SFTRunKit", "HubClient", "Tokenization", "Models", "Quantization", "TensorCore", "Values", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .target(name: "TestSupport", dependencies: ["Values"], path: "Tests/TestSupport"),
        .testTarget(name: "ValuesTests", dependencies: ["Values", "TestSupport"]),
        .testTarget(name: "RecipesTests", dependencies: ["Recipes", "TestSupport"]),
        .testTarget(name: "JinjaTests", dependencies: ["Jinja", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "TokenizationTests", dependencies: ["Tokenization", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "HubClientTests", dependencies: ["HubClient", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore", "WeightFiles", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "TensorCore", "WeightFiles", "Values", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "PEFTTests", dependencies: ["PEFT", "Models", "TensorCore", "WeightFiles", "Values", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "QuantizationTests", dependencies: ["Quantization", "Models", "TensorCore", "WeightFiles", "Values", "HubClient", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "WeightFilesTests", dependencies: ["WeightFiles", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "PEFT", "Quantization", "Models", "TensorCore", "Datasets", "Values", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "SFTRunKitTests", dependencies: ["SFTRunKit", "TestSupport", "Values"], exclude: ["Fixtures"]),
    ]
)
