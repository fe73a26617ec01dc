import ArgumentParser
import WalletCrypto

/// `venice-agent unlock`: give the agent its keystore password.
struct Unlock: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Unlock the agent with the keystore password (asked on the terminal without echo, or --password-file)."
    )
    @OptionGroup var options: ClientOptions
    @OptionGroup var password: PasswordOption

    func run() async throws {
        try await ClientCommands.run {
            let secret = try KeyCommands.password(password.passwordFile, confirm: false)
            var body = UnlockBody.bytes(password: secret)
            defer { body.withUnsafeMutableBytes { SecretBytes.wipe($0) } }
            let response = try await options.client.call(.POST, "/agent/v1/unlock", body: body,
                                                         contentType: "application/json", timeoutSeconds: 120)
            if options.json { return ClientCommands.printRaw(response) }
            print("unlocked \(ClientCommands.text(response.json?["address"]))")
        }
    }
}

/// `{"password":"…"}` built byte by byte from the secret, so no `String` copy of it is made.
enum UnlockBody {
    static func bytes(password: SecretBytes) -> [UInt8] {
        var out = Array("{\"password\":\"".utf8)
        // Room for the worst case up front, so growing never leaves an unzeroed copy behind.
        out.reserveCapacity(out.count + password.withUnsafeBytes { $0.count } * 6 + 2)
        let hex = Array("0123456789abcdef".utf8)
        password.withUnsafeBytes { raw in
            for byte in raw {
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                    out.append(UInt8(ascii: "\\")); out.append(byte)
                case 0..<0x20:
                    out += Array("\\u00".utf8)
                    out.append(hex[Int(byte >> 4)]); out.append(hex[Int(byte & 0xf)])
                default:
                    out.append(byte)
                }
            }
        }
        out += Array("\"}".utf8)
        return out
    }
}
