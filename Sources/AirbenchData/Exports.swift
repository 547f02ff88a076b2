// The file formats (the data sets' readers, ImageSplit, FormatError) live in AirbenchFormats; they
// are part of this module's public API, so importing AirbenchData brings them along.
@_exported import AirbenchFormats
