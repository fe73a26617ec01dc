/// An upper bound on an uploaded audio file's length in seconds, for pricing transcriptions
/// (`/audio/transcriptions` bills `pricing.per_audio_second`). A PCM or float WAV is read from
/// its header exactly; any other container (FLAC, M4A, AAC, MP4, MP3, OGG, WEBM — the formats
/// Venice's openapi.yaml lists for `file`) is bounded by its size at `floorBytesPerSecond`.
enum AudioDuration {
    /// 1 kbit/s: below the lowest setting of every codec those containers carry (Opus 6 kbit/s,
    /// RFC 6716 §1; MP3 8 kbit/s, MPEG-2.5 layer III; HE-AAC v2 ~8 kbit/s), with room for
    /// silence suppression. A file of `n` bytes cannot hold more than `n / 125` seconds of
    /// audio any of them can decode.
    static let floorBytesPerSecond = 125

    /// Seconds (rounded up) the file can hold at most.
    static func upperBound(_ file: ArraySlice<UInt8>) -> Int {
        if let seconds = wavSeconds(file) { return seconds }
        return (file.count + floorBytesPerSecond - 1) / floorBytesPerSecond
    }

    /// A RIFF/WAVE file with PCM (1), IEEE float (3) or extensible (0xFFFE) samples: the bytes
    /// from the `data` chunk to the end of the file over the smaller of the header's byte rate
    /// and sample rate × channels × bytes per sample. Nil for anything else.
    static func wavSeconds(_ file: ArraySlice<UInt8>) -> Int? {
        let bytes = Array(file.prefix(4096))
        guard bytes.count >= 12, bytes[0..<4] == [0x52, 0x49, 0x46, 0x46], bytes[8..<12] == [0x57, 0x41, 0x56, 0x45] else { return nil }
        var offset = 12
        var bytesPerSecond: Int?
        while offset + 8 <= bytes.count {
            let id = bytes[offset..<(offset + 4)]
            let size = Int(le32(bytes, offset + 4))
            let body = offset + 8
            if id.elementsEqual("fmt ".utf8) {
                guard size >= 16, body + 16 <= bytes.count else { return nil }
                let format = Int(le16(bytes, body)), channels = Int(le16(bytes, body + 2))
                let sampleRate = Int(le32(bytes, body + 4)), byteRate = Int(le32(bytes, body + 8))
                let bits = Int(le16(bytes, body + 14))
                guard [1, 3, 0xFFFE].contains(format), channels > 0, sampleRate > 0, bits > 0 else { return nil }
                let computed = sampleRate * channels * ((bits + 7) / 8)
                let rate = byteRate > 0 ? min(byteRate, computed) : computed
                guard rate > 0 else { return nil }
                bytesPerSecond = rate
            } else if id.elementsEqual("data".utf8) {
                guard let rate = bytesPerSecond else { return nil }
                let audio = max(0, file.count - body)
                return (audio + rate - 1) / rate
            }
            // Chunks are word-aligned; a size past the header window ends the search.
            let (next, overflow) = body.addingReportingOverflow(size + (size & 1))
            guard !overflow, next > offset else { return nil }
            offset = next
        }
        return nil
    }

    static func le16(_ b: [UInt8], _ i: Int) -> UInt16 { UInt16(b[i]) | UInt16(b[i + 1]) << 8 }
    static func le32(_ b: [UInt8], _ i: Int) -> UInt32 {
        UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
    }
}
