@_spi(Fuzzing) import AirbenchFormats

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzEntryPoints.png(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
