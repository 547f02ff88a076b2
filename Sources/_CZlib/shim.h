// The system zlib (zlib1g-dev on Debian/Ubuntu, part of Swift's documented Linux prerequisites;
// in the SDK on macOS). Only what Swift cannot import directly is wrapped here.
#ifndef AIRBENCH_CZLIB_SHIM_H
#define AIRBENCH_CZLIB_SHIM_H

#include <zlib.h>

/// `inflateInit2` is a macro, which Swift cannot call; this sets up `stream` to decode a gzip
/// member (windowBits 16 + MAX_WBITS: gzip wrapper only, header, CRC-32 and length checked by zlib).
static inline int airbench_inflate_init_gzip(z_stream *stream) {
    return inflateInit2(stream, 16 + MAX_WBITS);
}

/// The same for a zlib (RFC 1950) stream, as inside PNG IDAT chunks and MATLAB miCOMPRESSED
/// elements (windowBits MAX_WBITS: zlib wrapper only, Adler-32 checked by zlib).
static inline int airbench_inflate_init_zlib(z_stream *stream) {
    return inflateInit2(stream, MAX_WBITS);
}

#endif
