// swift-tools-version: 6.0
// libFuzzer harnesses for every parser of user files, one executable each. A separate package, so the
// main build and CI never see the sanitizer flags. Build and run with scripts/fuzz.sh.
import PackageDescription

let harnesses = ["tar", "gzip", "cifar10", "cifar100", "mat", "png", "safetensors", "sweepspec"]

let package = Package(
    name: "AirbenchFuzz",
    dependencies: [.package(name: "Airbench", path: "..")],
    targets: harnesses.map { name in
        .executableTarget(
            name: "fuzz-\(name)",
            dependencies: [.product(name: name == "sweepspec" ? "AirbenchStudies" : "AirbenchFormats", package: "Airbench")],
            path: "Sources/\(name)",
            // No `main`: libFuzzer's, linked in by -sanitize=fuzzer, calls LLVMFuzzerTestOneInput.
            swiftSettings: [.unsafeFlags(["-parse-as-library"])])
    }
)
