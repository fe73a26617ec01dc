/// A minimal PNG writer: 8-bit RGB, filter 0 on every row, zlib stream of stored deflate blocks.
/// The output is valid for every decoder (libpng, Pillow, browsers); it is just not compressed.
public enum PNGEncoder {
    /// `rgb` holds `width * height * 3` bytes, row-major.
    public static func encode(width: Int, height: Int, rgb: [UInt8]) -> [UInt8] {
        precondition(width > 0 && height > 0 && rgb.count == width * height * 3, "PNGEncoder: pixel count mismatch")
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        var header: [UInt8] = []
        header.appendBigEndian(UInt32(width))
        header.appendBigEndian(UInt32(height))
        header += [8, 2, 0, 0, 0]   // bit depth 8, colour type RGB, deflate, filter 0, no interlace
        appendChunk("IHDR", header, to: &png)

        let rowBytes = width * 3
        var raw: [UInt8] = []
        raw.reserveCapacity((rowBytes + 1) * height)
        for row in 0..<height {
            raw.append(0)   // filter type None
            raw += rgb[(row * rowBytes)..<((row + 1) * rowBytes)]
        }
        appendChunk("IDAT", zlibStored(raw), to: &png)
        appendChunk("IEND", [], to: &png)
        return png
    }

    /// zlib (RFC 1950) around deflate (RFC 1951) stored blocks of at most 65,535 bytes.
    static func zlibStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]   // CM 8, CINFO 7, FCHECK so that 0x7801 % 31 == 0
        var offset = 0
        repeat {
            let length = min(65_535, data.count - offset)
            let isFinal = offset + length >= data.count
            out.append(isFinal ? 1 : 0)   // BFINAL, BTYPE 00
            out.appendLittleEndian(UInt16(length))
            out.appendLittleEndian(~UInt16(length))
            out += data[offset..<(offset + length)]
            offset += length
        } while offset < data.count
        out.appendBigEndian(Checksums.adler32(data))
        return out
    }

    private static func appendChunk(_ type: String, _ data: [UInt8], to png: inout [UInt8]) {
        png.appendBigEndian(UInt32(data.count))
        let typeBytes = Array(type.utf8)
        png += typeBytes
        png += data
        png.appendBigEndian(Checksums.crc32(data, continuing: Checksums.crc32(typeBytes)))
    }
}
