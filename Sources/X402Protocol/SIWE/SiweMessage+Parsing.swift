import WalletCrypto
import Foundation

extension SiweMessage {
    /// Upper bound on a message we agree to parse (Venice messages are ~300 bytes).
    public static let maximumLength = 64 * 1024

    /// Strict EIP-4361 parser: LF only, no trailing newline, every line in grammar order,
    /// EIP-55 address, timestamps kept verbatim. Throws the first rule the text breaks.
    public init(parsing text: String) throws(X402Error) {
        let bytes = Array(text.utf8)
        guard bytes.count <= Self.maximumLength else {
            throw .siweUnexpectedLine(line: 1, expected: "a message under \(Self.maximumLength) bytes", found: "\(bytes.count) bytes")
        }
        var lines: [String] = []
        var start = 0
        for (i, c) in bytes.enumerated() where c == 10 {
            lines.append(String(decoding: bytes[start..<i], as: UTF8.self))
            start = i + 1
        }
        lines.append(String(decoding: bytes[start...], as: UTF8.self))
        var cursor = LineCursor(lines: lines)

        // 1: [scheme "://"] domain " wants you to sign in with your Ethereum account:"
        let header = try cursor.take("the \"… wants you to sign in with your Ethereum account:\" header")
        guard header.hasSuffix(Self.headerSuffix) else {
            throw .siweUnexpectedLine(line: 1, expected: "\"<domain>\(Self.headerSuffix)\"", found: header)
        }
        var authority = Substring(header.dropLast(Self.headerSuffix.count))
        var scheme: String?
        if let range = authority.range(of: "://") {
            scheme = String(authority[authority.startIndex..<range.lowerBound])
            authority = authority[range.upperBound...]
        }
        // 2: address
        let addressText = try cursor.take("address")
        let address = try Self.parseAddress(addressText)
        // 3: empty; 4: [statement, empty] or empty
        try cursor.expectEmpty("an empty line after the address")
        var statement: String?
        let afterAddress = try cursor.take("a statement or an empty line")
        if !afterAddress.isEmpty {
            statement = afterAddress
            try cursor.expectEmpty("an empty line after the statement")
        }
        let uri = try cursor.takeTagged("URI: ")
        let version = try cursor.takeTagged("Version: ")
        let chainText = try cursor.takeTagged("Chain ID: ")
        let chainId = try Self.parseChainId(chainText)
        let nonce = try cursor.takeTagged("Nonce: ")
        let issuedAt = try SiweTimestamp(parsing: cursor.takeTagged("Issued At: "), field: "Issued At")

        var expirationTime: SiweTimestamp?
        var notBefore: SiweTimestamp?
        var requestId: String?
        var resources: [String]?
        // Optional lines, each at most once, only in this order.
        let optional = ["Expiration Time: ", "Not Before: ", "Request ID: ", "Resources:"]
        var nextOptional = 0
        while let line = cursor.peek() {
            guard let index = optional[nextOptional...].firstIndex(where: { line.hasPrefix($0) }) else {
                let expected = nextOptional < optional.count
                    ? "one of " + optional[nextOptional...].map { "\"\($0.trimmingSuffixSpace)\"" }.joined(separator: ", ")
                    : "the end of the message"
                throw .siweUnexpectedLine(line: cursor.lineNumber, expected: expected, found: line)
            }
            cursor.advance()
            let value = String(line.dropFirst(optional[index].count))
            switch index {
            case 0: expirationTime = try SiweTimestamp(parsing: value, field: "Expiration Time")
            case 1: notBefore = try SiweTimestamp(parsing: value, field: "Not Before")
            case 2: requestId = value
            default:
                guard value.isEmpty else {
                    throw .siweUnexpectedLine(line: cursor.lineNumber - 1, expected: "\"Resources:\"", found: line)
                }
                var list: [String] = []
                while let item = cursor.peek() {
                    guard item.hasPrefix("- ") else {
                        throw .siweUnexpectedLine(line: cursor.lineNumber, expected: "\"- <URI>\" or the end of the message", found: item)
                    }
                    list.append(String(item.dropFirst(2)))
                    cursor.advance()
                }
                resources = list
            }
            nextOptional = index + 1
        }

        try self.init(
            scheme: scheme, domain: String(authority), address: address, statement: statement, uri: uri,
            version: version, chainId: chainId, nonce: nonce, issuedAt: issuedAt,
            expirationTime: expirationTime, notBefore: notBefore, requestId: requestId, resources: resources)
    }

    static func parseAddress(_ text: String) throws(X402Error) -> EthereumAddress {
        let address: EthereumAddress
        do {
            address = try EthereumAddress(text)
        } catch .badChecksum {
            throw .siweAddressNotChecksummed(text)
        } catch {
            throw .siweInvalidAddress(text)
        }
        guard address.checksummed == text else { throw .siweAddressNotChecksummed(text) }
        return address
    }

    static func parseChainId(_ text: String) throws(X402Error) -> UInt64 {
        guard !text.isEmpty, text.utf8.allSatisfy(RFC3986.isDigit),
              text == "0" || !text.hasPrefix("0"), let value = UInt64(text) else {
            throw .siweInvalidChainId(text)
        }
        return value
    }
}

/// Walks the lines of a message, naming the expected line in errors.
struct LineCursor {
    let lines: [String]
    var index = 0

    var lineNumber: Int { index + 1 }

    func peek() -> String? { index < lines.count ? lines[index] : nil }

    mutating func advance() { index += 1 }

    mutating func take(_ what: String) throws(X402Error) -> String {
        guard let line = peek() else { throw .siweMissingLine(what) }
        if line.utf8.contains(13) {
            throw .siweUnexpectedLine(line: lineNumber, expected: "\(what) without CR (LF line ends only)", found: line)
        }
        advance()
        return line
    }

    mutating func expectEmpty(_ what: String) throws(X402Error) {
        let number = lineNumber
        let line = try take(what)
        guard line.isEmpty else { throw .siweUnexpectedLine(line: number, expected: what, found: line) }
    }

    mutating func takeTagged(_ tag: String) throws(X402Error) -> String {
        let number = lineNumber
        let name = "\"\(tag.trimmingSuffixSpace)\""
        let line = try take(name)
        guard line.hasPrefix(tag) else { throw .siweUnexpectedLine(line: number, expected: name, found: line) }
        return String(line.dropFirst(tag.count))
    }
}

extension String {
    var trimmingSuffixSpace: String { hasSuffix(" ") ? String(dropLast()) : self }
}
