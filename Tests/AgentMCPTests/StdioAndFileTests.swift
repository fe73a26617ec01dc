@testable import AgentMCP
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// What `venice-agent mcp` reads on stdio, and the local files a host may name.
@Suite("MCP stdio lines and local files")
struct StdioAndFileTests {
    /// Feeds `input` to a `LineReader` through a pipe; returns the lines it delivered and what it answered itself.
    func read(_ input: [UInt8], maxLine: Int = 1 << 20) async throws -> (delivered: [String], answered: [String]) {
        var inPipe: [Int32] = [0, 0], outPipe: [Int32] = [0, 0]
        #expect(pipe(&inPipe) == 0 && pipe(&outPipe) == 0)
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: Data.self)
        let reader = LineReader(descriptor: inPipe[0], maxLine: maxLine, writer: LineWriter(descriptor: outPipe[1]), continuation: continuation)
        let thread = Thread { reader.run() }
        thread.start()
        let writeEnd = inPipe[1]
        let feeder = Thread {
            var sent = 0
            while sent < input.count {
                let n = input.withUnsafeBytes { Glibc.write(writeEnd, $0.baseAddress!.advanced(by: sent), min(65536, $0.count - sent)) }
                if n <= 0 { break }
                sent += n
            }
            close(writeEnd)
        }
        feeder.start()
        var delivered: [String] = []
        for try await line in stream { delivered.append(String(decoding: line, as: UTF8.self)) }
        close(outPipe[1])
        var answered = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = Glibc.read(outPipe[0], &buffer, buffer.count)
            if n <= 0 { break }
            answered += buffer[..<n]
        }
        close(inPipe[0]); close(outPipe[0])
        return (delivered, String(decoding: answered, as: UTF8.self).split(separator: "\n").map(String.init))
    }

    @Test("a long line arrives whole, and the next one after it")
    func longLines() async throws {
        let big = #"{"jsonrpc":"2.0","id":1,"method":"x","params":{"b":""# + String(repeating: "A", count: 3 << 20) + #""}}"#
        let (delivered, answered) = try await read(Array((big + "\n" + #"{"jsonrpc":"2.0","id":2,"method":"y"}"# + "\r\n").utf8), maxLine: 8 << 20)
        #expect(delivered.count == 2 && delivered[0] == big && delivered[1].hasSuffix(#""method":"y"}"#))
        #expect(answered.isEmpty)
    }

    @Test("a line past the limit is dropped and answered with an error; reading goes on")
    func overlongLine() async throws {
        let huge = String(repeating: "x", count: 300_000)
        let (delivered, answered) = try await read(Array((huge + "\n" + #"{"jsonrpc":"2.0","id":3,"method":"z"}"# + "\n").utf8), maxLine: 100_000)
        #expect(delivered == [#"{"jsonrpc":"2.0","id":3,"method":"z"}"#])
        #expect(answered.count == 1 && answered[0].contains("-32600") && answered[0].contains(#""id":null"#))
    }

    @Test("lines JSON-RPC does not allow are answered here with id null: not JSON, an object or array id")
    func invalidRequests() async throws {
        let input = "{nope\n" + #"{"jsonrpc":"2.0","id":{"a":1},"method":"tools/list"}"# + "\n" + #"{"jsonrpc":"2.0","id":[1],"method":"tools/list"}"# + "\n\n   \n"
            + #"{"jsonrpc":"2.0","id":null,"method":"ping"}"# + "\n"
        let (delivered, answered) = try await read(Array(input.utf8))
        #expect(delivered == [#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#])
        #expect(answered.count == 3)
        #expect(answered[0].contains("-32700") && answered[1].contains("-32600") && answered[2].contains("-32600"))
        #expect(answered.allSatisfy { $0.contains(#""id":null"#) })
    }

    // MARK: local files

    func folder() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("mcp-files-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    func readAudio(_ path: String) throws(ToolFailure) -> [UInt8] {
        try LocalFile.read(path, argument: "file_path", extensions: ToolCatalogue.audioExtensions, maxBytes: 1 << 20,
                           kind: "an audio", sniff: MediaType.isAudio)
    }

    @Test("file_path reads an audio file itself, and refuses links, NUL, FIFOs, folders and files that are not audio")
    func localAudioFiles() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let wav = dir + "/ok.wav"
        try Data(Fixtures.wav).write(to: URL(fileURLWithPath: wav))
        #expect(try readAudio(wav) == Fixtures.wav)

        let secret = dir + "/secret.txt"
        try Data("password=hunter2\n".utf8).write(to: URL(fileURLWithPath: secret))
        try FileManager.default.createSymbolicLink(atPath: dir + "/link.wav", withDestinationPath: secret)
        try FileManager.default.createSymbolicLink(atPath: dir + "/audio-link.wav", withDestinationPath: wav)
        try Data("password=hunter2\n".utf8).write(to: URL(fileURLWithPath: dir + "/text.wav"))
        #expect(mkfifo(dir + "/fifo.wav", 0o600) == 0)
        try FileManager.default.createDirectory(atPath: dir + "/folder.wav", withIntermediateDirectories: true)
        try Data(Fixtures.wav + [UInt8](repeating: 0, count: 2 << 20)).write(to: URL(fileURLWithPath: dir + "/big.wav"))
        for (path, reason) in [(dir + "/link.wav", "symbolic link"), (dir + "/audio-link.wav", "symbolic link"),
                               (dir + "/text.wav", "not an audio"), (dir + "/fifo.wav", "regular file"),
                               (dir + "/folder.wav", "regular file"), (dir + "/big.wav", "larger"),
                               (secret + "\u{0}.wav", "NUL"), (secret, "must name an audio"), ("relative.wav", "absolute")] {
            #expect { try readAudio(path) } throws: { "\($0)".contains(reason) }
        }
    }

    @Test("the audio sniffer knows Venice's containers and nothing else")
    func audioSniffer() {
        for header in [Array("RIFF\u{0}\u{0}\u{0}\u{0}WAVE".utf8), Array("fLaC".utf8), Array("ID3\u{4}".utf8), [0xFF, 0xFB, 0x90],
                       Array("OggS".utf8), Array("\u{0}\u{0}\u{0}\u{20}ftypM4A ".utf8), [0x1A, 0x45, 0xDF, 0xA3], [0xFF, 0xF1]] {
            #expect(MediaType.isAudio(header), "\(header)")
        }
        for header in [Array("root:x:0:0".utf8), Array("RIFF\u{0}\u{0}\u{0}\u{0}WEBP".utf8), [0x89, 0x50, 0x4E, 0x47], [0xFF], []] {
            #expect(!MediaType.isAudio(header), "\(header)")
        }
    }
}
