import AirbenchStudies

/// A sweep spec (YAML) as a user hands it to `airbench sweep`: parsed and resolved, errors thrown, never a crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let text = String(decoding: UnsafeRawBufferPointer(start: data, count: size), as: UTF8.self)
    _ = try? SweepSpec.parse(text, file: "fuzz.yaml")
    return 0
}
