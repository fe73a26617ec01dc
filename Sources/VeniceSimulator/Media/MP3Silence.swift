/// MPEG-1 Layer III frames of digital silence (48 kHz, 64 kbit/s, mono; all-zero side info and main data).
/// A real, decodable MP3 of the right duration: the simulator cannot encode speech into MP3, so the
/// `mp3` answers are silent (documented; WAV, PCM and FLAC carry the synthetic tones).
enum MP3Silence {
    static let sampleRate = 48_000
    static let samplesPerFrame = 1_152
    static let frameBytes = 192   // 144 × 64,000 / 48,000

    static func encode(seconds: Double) -> [UInt8] {
        let frames = max(1, Int((seconds * Double(sampleRate) / Double(samplesPerFrame)).rounded(.up)))
        var frame: [UInt8] = [0xFF, 0xFB, 0x54, 0xC0]   // MPEG-1, Layer III, no CRC; 64 kbit/s, 48 kHz, no padding; mono
        frame += [UInt8](repeating: 0, count: frameBytes - 4)
        var out: [UInt8] = []
        out.reserveCapacity(frames * frameBytes)
        for _ in 0..<frames { out += frame }
        return out
    }
}
