// The CIFAR-10 file formats (batch files, ImageSplit, DataError) live in AirbenchFormats; they
// are part of this module's public API, so importing AirbenchData brings them along.
@_exported import AirbenchFormats
