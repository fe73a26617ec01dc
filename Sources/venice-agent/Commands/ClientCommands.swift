import ArgumentParser
import Foundation
import WalletCrypto

/// The shared shell of the client commands: one error line on stderr, exit status 1.
enum ClientCommands {
    static func run(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as AgentClientError {
            KeyCommands.printError(error.description)
            throw ExitCode.failure
        } catch let error as WalletCryptoError {
            KeyCommands.printError(error.description)
            throw ExitCode.failure
        } catch let error as KeyCommandError {
            KeyCommands.printError(error.description)
            throw ExitCode.failure
        }
    }

    /// Prints the answer body as it came (for `--json`), with one trailing newline.
    static func printRaw(_ response: AgentResponse) {
        var text = response.text
        while text.hasSuffix("\n") { text.removeLast() }
        print(text)
    }

    static func object(_ response: AgentResponse) throws(AgentClientError) -> JSONValue {
        guard let json = response.json, json.objectValue != nil else {
            throw .usage("the agent's answer was not a JSON object (\(response.status), \(response.contentType))")
        }
        return json
    }

    /// `{"success":true,"data":{…}}` → the data object; anything else as is.
    static func venicePayload(_ json: JSONValue) -> JSONValue {
        json["data"].flatMap { $0.objectValue != nil ? $0 : nil } ?? json
    }

    static func text(_ value: JSONValue?) -> String {
        guard let value else { return "" }
        switch value {
        case .string(let s): return s
        case .null: return ""
        case .bool(let b): return b ? "yes" : "no"
        case .number(let n): return n
        default: return value.serialized()
        }
    }

    static func usd(_ value: JSONValue?) -> String {
        value?.doubleValue.map(DollarFormat.usd) ?? ""
    }

    /// Writes `bytes` to `path` (atomically), creating the folder.
    static func write(_ bytes: [UInt8], to path: String) throws(AgentClientError) {
        let url = URL(fileURLWithPath: path)
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(bytes).write(to: url, options: .atomic)
        } catch {
            throw .usage("cannot write \(path): \(error.localizedDescription)")
        }
    }

    static func percentEncoded(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }

    static func query(_ items: [(String, String?)]) -> String {
        let present = items.compactMap { name, value in value.map { "\(name)=\(percentEncoded($0))" } }
        return present.isEmpty ? "" : "?" + present.joined(separator: "&")
    }
}
