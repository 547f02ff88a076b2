// SafetensorsFile (model files) and writeFileAtomically live in AirbenchFormats; they are part of
// this module's public API, so importing Airbench brings them along.
@_exported import AirbenchFormats
