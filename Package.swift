// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "Airbench",
    products: [
        .library(name: "Airbench", targets: ["Airbench"]),
        .executable(name: "airbench", targets: ["AirbenchCLI"]),
        // The file formats alone, for the fuzz harnesses in Fuzz/ (a separate package).
        .library(name: "AirbenchFormats", targets: ["AirbenchFormats"]),
        // Sweep specs, results and statistics, for the sweep-spec fuzz harness and for scripts of studies.
        .library(name: "AirbenchStudies", targets: ["AirbenchStudies"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // Internal C micro-kernels (AVX-512 / AVX2 / portable), chosen at run time by CPU features.
        .target(name: "_AirbenchSIMD"),
        // Numeric primitives with no knowledge of the network; each fast kernel keeps a naive reference beside it.
        .target(name: "AirbenchKernels", dependencies: ["_AirbenchSIMD"]),
        // The system zlib (zlib1g-dev on Linux, part of Swift's documented prerequisites; in the SDK on macOS).
        .systemLibrary(name: "_CZlib", providers: [.apt(["zlib1g-dev"]), .brew(["zlib"])]),
        // File formats, bytes in and out, nothing about training: gzip and zlib (on the system zlib), tar,
        // CIFAR-10 batch files, CIFAR-100, SVHN (MATLAB level-5 .mat), PNG and CINIC-10, safetensors,
        // atomic file writes.
        .target(name: "AirbenchFormats", dependencies: ["_CZlib"]),
        // Finding CIFAR-10 (folder, .tar.gz, download with MD5 check), the airbench data loader, the seeded RNG.
        .target(
            name: "AirbenchData",
            dependencies: ["AirbenchFormats", .product(name: "Crypto", package: "swift-crypto")]),
        // The method: airbench94 network, whitening, optimizer, Lookahead, TTA, train94, model files.
        .target(name: "Airbench", dependencies: ["AirbenchKernels", "AirbenchData", "AirbenchFormats"]),
        // Studies over many runs: sweep specs (YAML, read with Yams), sharded resumable sweeps, results, statistics, reports.
        .target(
            name: "AirbenchStudies",
            dependencies: ["Airbench", "AirbenchData", "AirbenchFormats", "AirbenchKernels", .product(name: "Yams", package: "Yams"),
                           .product(name: "Crypto", package: "swift-crypto")]),
        .executableTarget(
            name: "AirbenchCLI",
            dependencies: ["Airbench", "AirbenchStudies",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // Helpers the kernels' and the engine's tests share (every kernel path in turn, the fp32 algorithms).
        .target(name: "AirbenchTestSupport", dependencies: ["AirbenchKernels"], path: "Tests/AirbenchTestSupport"),
        // _AirbenchSIMD for its test hooks (a slow thread in the weight gradient's pool).
        .testTarget(name: "AirbenchKernelsTests", dependencies: ["AirbenchKernels", "AirbenchTestSupport", "_AirbenchSIMD"]),
        .testTarget(
            name: "AirbenchDataTests", dependencies: ["AirbenchData", "AirbenchFormats"], resources: [.copy("Fixtures")]),
        .testTarget(
            name: "AirbenchTests",
            dependencies: ["Airbench", "AirbenchFormats", "AirbenchTestSupport", .product(name: "Crypto", package: "swift-crypto")],
            resources: [.copy("Fixtures")]),
        .testTarget(name: "AirbenchStudiesTests", dependencies: ["AirbenchStudies"], resources: [.copy("Fixtures")]),
        // Runs the built `airbench` executable (depending on it makes `swift test` build it first).
        .testTarget(name: "AirbenchCLITests", dependencies: ["AirbenchCLI"]),
    ]
)
