/// A small, structurally valid MP4 (ISO BMFF) for a simulated video: `ftyp`, `moov` with an `mvhd`
/// carrying the clip's length, and an `mdat` of seeded bytes.
///
/// Source: openapi.yaml `/video/retrieve` 200 `video/mp4` ("Video file if completed").
/// [sim] Venice documents only the content type; the simulator's file has no decodable track (no
/// client of the simulator plays it), only boxes a container parser accepts and the duration.
enum MP4Encoder {
    /// Timescale of `mvhd`: milliseconds.
    static let timescale: UInt32 = 1_000

    static func mp4(seconds: Double, seed: UInt64) -> [UInt8] {
        let ftyp = box("ftyp", Array("isom".utf8) + be32(512) + Array("isomiso2mp41".utf8))
        let duration = UInt32(max(0, min(seconds, 86_400)) * Double(timescale))
        var mvhd: [UInt8] = [0, 0, 0, 0]                          // version 0, flags
        mvhd += be32(0) + be32(0)                                 // creation, modification time
        mvhd += be32(timescale) + be32(duration)
        mvhd += be32(0x0001_0000) + [0x01, 0x00] + [0, 0]         // rate 1.0, volume 1.0, reserved
        mvhd += be32(0) + be32(0)                                 // reserved
        for value: UInt32 in [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000] { mvhd += be32(value) }  // unity matrix
        mvhd += [UInt8](repeating: 0, count: 24)                  // pre_defined
        mvhd += be32(1)                                           // next_track_ID
        let moov = box("moov", box("mvhd", mvhd))
        var generator = SeededGenerator(seed: seed)
        let payload = (0..<256).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        return ftyp + moov + box("mdat", payload)
    }

    static func box(_ type: String, _ body: [UInt8]) -> [UInt8] { be32(UInt32(8 + body.count)) + Array(type.utf8) + body }

    static func be32(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)]
    }
}
