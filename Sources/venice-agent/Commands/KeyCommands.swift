import ArgumentParser
import WalletCrypto
#if canImport(Glibc)
import Glibc
#endif

/// The work behind `venice-agent key …`, kept out of the argument types.
enum KeyCommands {
    /// Runs `body`, turning any error into one line on stderr and exit status 1.
    static func run(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as WalletCryptoError {
            printError(error.description)
            throw ExitCode.failure
        } catch let error as KeyCommandError {
            printError(error.description)
            throw ExitCode.failure
        }
    }

    static func printError(_ message: String) {
        var stderr = StandardError()
        print("venice-agent: error: \(message)", to: &stderr)
    }

    static func refuseExisting(_ path: String) throws {
        if access(path, F_OK) == 0 {
            throw KeyCommandError("\(path) already exists; choose another --keystore path (existing keystores are never overwritten)")
        }
    }

    static func save(_ key: PrivateKey, to path: String, password: SecretBytes, scryptN: Int) throws {
        try refuseExisting(path)
        let json = try Keystore.encrypt(key, password: password, scryptN: scryptN)
        try SecureFile.write(json, to: path, overwrite: false)
    }

    static func unlock(_ path: String, _ passwordFile: String?) throws -> PrivateKey {
        let json = try SecureFile.read(path)
        let pw = try password(passwordFile, confirm: false)
        return try Keystore.decrypt(json, password: pw)
    }

    static func password(_ file: String?, confirm: Bool) throws -> SecretBytes {
        if let file { return try SecureFile.readPassword(file) }
        guard let first = TerminalPrompt.readSecret(prompt: "Keystore password: ") else {
            throw KeyCommandError("no terminal to ask the password on; pass --password-file FILE")
        }
        if confirm {
            guard let second = TerminalPrompt.readSecret(prompt: "Repeat password: "), second.constantTimeEquals(first) else {
                throw KeyCommandError("the two passwords differ; nothing was written")
            }
        }
        return first
    }

    /// Reads `0x` + 64 hex digits (surrounding whitespace ignored) and zeroes every copy.
    static func readPrivateKeyFromStdin() throws -> PrivateKey {
        var raw = try readStdin(limit: 4096)
        defer { raw.withUnsafeMutableBytes { SecretBytes.wipe($0) } }
        var start = 0, end = raw.count
        while start < end, isSpace(raw[start]) { start += 1 }
        while end > start, isSpace(raw[end - 1]) { end -= 1 }
        if end - start >= 2, raw[start] == UInt8(ascii: "0"), raw[start + 1] | 0x20 == UInt8(ascii: "x") { start += 2 }
        guard end - start == 64 else {
            throw KeyCommandError("standard input must hold one private key: 0x followed by 64 hex digits")
        }
        var valid = true
        var bytes = [UInt8](repeating: 0, count: 32)
        defer { bytes.withUnsafeMutableBytes { SecretBytes.wipe($0) } }
        for i in 0..<32 {
            guard let hi = nibble(raw[start + 2 * i]), let lo = nibble(raw[start + 2 * i + 1]) else { valid = false; break }
            bytes[i] = hi << 4 | lo
        }
        guard valid else { throw KeyCommandError("standard input must hold one private key: 0x followed by 64 hex digits") }
        return try bytes.withUnsafeBytes { try PrivateKey(bytes: $0) }
    }

    static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x0a || c == 0x0d || c == 0x09 }

    static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: c - 48
        case 97...102: c - 87
        case 65...70: c - 55
        default: nil
        }
    }

    static func readStdin(limit: Int) throws -> [UInt8] {
        var out = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw KeyCommandError("cannot read standard input")
            }
            if n == 0 { break }
            out += chunk[0..<n]
            guard out.count <= limit else { throw KeyCommandError("standard input is larger than \(limit) bytes") }
        }
        return out
    }
}

struct KeyCommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        var s = string
        s.withUTF8 { buf in _ = Glibc.write(2, buf.baseAddress, buf.count) }
    }
}

/// Reads a secret from the controlling terminal with echo off.
enum TerminalPrompt {
    static func readSecret(prompt: String) -> SecretBytes? {
        let fd = open("/dev/tty", O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var old = termios()
        guard tcgetattr(fd, &old) == 0 else { return nil }
        var quiet = old
        quiet.c_lflag &= ~tcflag_t(ECHO)
        _ = prompt.withCString { write(fd, $0, strlen($0)) }
        guard tcsetattr(fd, TCSAFLUSH, &quiet) == 0 else { return nil }
        defer {
            _ = tcsetattr(fd, TCSAFLUSH, &old)
            _ = write(fd, "\n", 1)
        }
        var buffer = [UInt8](repeating: 0, count: 1024)
        var count = 0
        while count < buffer.count {
            var c: UInt8 = 0
            let n = read(fd, &c, 1)
            if n <= 0 || c == 0x0a || c == 0x0d { break }
            buffer[count] = c
            count += 1
        }
        var password = Array(buffer[0..<count])
        buffer.withUnsafeMutableBytes { SecretBytes.wipe($0) }
        return SecretBytes(zeroingSource: &password)
    }
}
