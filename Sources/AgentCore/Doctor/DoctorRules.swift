#if canImport(Glibc)
import Glibc
#endif
public import WalletCrypto
import X402Protocol

/// The rules of `venice-agent doctor` as pure functions of what was observed (file status,
/// bytes, headers, times), so each can be tested without a filesystem or a network. The CLI
/// gathers the observations; these decide.
public enum DoctorRules {
    /// How far Venice's clock may be from ours: a SIWE `Issued At` more than 30 s ahead of
    /// Venice is refused (the agent's `SiwxVerifier` default, `maxFutureMilliseconds`).
    public static let clockToleranceMilliseconds: Int64 = SiwxVerifier.Configuration().maxFutureMilliseconds

    /// The rate-limit headers Venice documents on its answers (veniceai/api-docs
    /// `api-reference/rate-limiting.mdx`, "Rate Limit and Consumption Headers").
    public static let rateLimitHeaders = ["x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests"]

    static func mode(_ bits: UInt32) -> String { "0" + String(bits, radix: 8) }

    /// `local.socket-folder`: a real folder (not a symlink), ours, 0700 (0711 when other uids are allowed).
    public static func socketFolder(_ path: String, status: Result<FileStatus, FileStatus.Errno>, uid: UInt32) -> DoctorResult {
        let rule = "local.socket-folder"
        switch status {
        case .failure(let error):
            return .fail(rule, "\(path): \(describe(error)); start the agent (it creates the folder 0700) or pass --socket")
        case .success(let st):
            guard st.kind == .directory else {
                return .fail(rule, "\(path) is a symlink or not a folder; use a real folder only you can write (the default under $XDG_RUNTIME_DIR)")
            }
            guard st.ownerUID == uid else {
                return .fail(rule, "\(path) belongs to uid \(st.ownerUID), not to you (uid \(uid)); another user could replace the socket — use a folder of your own")
            }
            guard st.permissions == 0o700 || st.permissions == 0o711 else {
                return .fail(rule, "\(path) has mode \(mode(st.permissions)); run `chmod 700 \(path)`")
            }
            return .pass(rule, "\(path) is yours, mode \(mode(st.permissions))")
        }
    }

    /// `local.socket`: a socket, 0600 (0666 only when other uids are allowed), and an agent answered `status`.
    public static func socket(_ path: String, status: Result<FileStatus, FileStatus.Errno>, uid: UInt32, answered: Result<String, DoctorProblem>) -> DoctorResult {
        let rule = "local.socket"
        switch status {
        case .failure(let error):
            return .fail(rule, "\(path): \(describe(error)); start one with `venice-agent serve --keystore KEYSTORE.json --daemonize --print-env` or pass --socket")
        case .success(let st):
            guard st.kind == .socket else { return .fail(rule, "\(path) is not a Unix socket; pass --socket with the path `venice-agent serve` printed") }
            guard st.ownerUID == uid else { return .fail(rule, "\(path) belongs to uid \(st.ownerUID), not to you; check who replaced it") }
            guard st.permissions == 0o600 || st.permissions == 0o666 else {
                return .fail(rule, "\(path) has mode \(mode(st.permissions)), not 0600; restart the agent (it creates the socket 0600)")
            }
            switch answered {
            case .failure(let why): return .fail(rule, "\(path) is a socket but no agent answered /agent/v1/status: \(why.message)")
            case .success(let who): return .pass(rule, "\(path) mode \(mode(st.permissions)); the agent answered (\(who))")
            }
        }
    }

    /// `local.keystore`: ours, 0600, a well-formed v3 keystore (never decrypted).
    public static func keystore(_ path: String, status: Result<FileStatus, FileStatus.Errno>, uid: UInt32, contents: Result<[UInt8], DoctorProblem>) -> DoctorResult {
        let rule = "local.keystore"
        switch status {
        case .failure(let error):
            return .fail(rule, "\(path): \(describe(error)); pass --keystore or set keystore in the config file")
        case .success(let st):
            guard st.kind == .regular else { return .fail(rule, "\(path) is not a regular file; point --keystore at the keystore JSON itself") }
            guard st.ownerUID == uid else { return .fail(rule, "\(path) belongs to uid \(st.ownerUID), not to you; `chown` it to yourself") }
            guard st.permissions & 0o077 == 0 else {
                return .fail(rule, "\(path) has mode \(mode(st.permissions)): others can read the encrypted key; run `chmod 600 \(path)`")
            }
            switch contents {
            case .failure(let why): return .fail(rule, "cannot read \(path): \(why.message)")
            case .success(let bytes):
                do {
                    let address = try Keystore.validate(bytes)
                    return .pass(rule, "\(path) mode \(mode(st.permissions)), v3 keystore" + (address.map { " for \($0.checksummed)" } ?? ""))
                } catch {
                    return .fail(rule, "\(path) is not a usable v3 keystore: \(error.description); restore it from your backup")
                }
            }
        }
    }

    /// `local.state-dir`: the folder 0700 and ours; the ledger database 0600 (its -wal/-shm too, when present).
    public static func stateDirectory(_ path: String, status: Result<FileStatus, FileStatus.Errno>, uid: UInt32,
                                      files: [(name: String, status: Result<FileStatus, FileStatus.Errno>)]) -> DoctorResult {
        let rule = "local.state-dir"
        switch status {
        case .failure(let error):
            return .fail(rule, "\(path): \(describe(error)); the agent creates it on start (or pass --state-dir)")
        case .success(let st):
            guard st.kind == .directory else { return .fail(rule, "\(path) is a symlink or not a folder; use a real folder") }
            guard st.ownerUID == uid else { return .fail(rule, "\(path) belongs to uid \(st.ownerUID), not to you") }
            guard st.permissions == 0o700 else { return .fail(rule, "\(path) has mode \(mode(st.permissions)); run `chmod 700 \(path)`") }
        }
        var seen: [String] = []
        for (index, file) in files.enumerated() {
            switch file.status {
            case .failure(let error):
                // The ledger itself must be there; its -wal/-shm come and go.
                if index == 0 { return .fail(rule, "\(path)/\(file.name): \(describe(error)); has the agent started with this --state-dir?") }
            case .success(let st):
                guard st.ownerUID == uid, st.permissions & 0o077 == 0 else {
                    return .fail(rule, "\(path)/\(file.name) has mode \(mode(st.permissions)) (owner uid \(st.ownerUID)); run `chmod 600 \(path)/\(file.name)`")
                }
                seen.append(file.name)
            }
        }
        return .pass(rule, "\(path) mode 0700; \(seen.joined(separator: ", ")) 0600")
    }

    /// `clock.skew`: Venice's `Date` (one-second resolution) against our clock when the answer came.
    /// - Parameters:
    ///   - sentAt/receivedAt: local Unix milliseconds around the exchange; the midpoint is compared.
    public static func clockSkew(source: String, dateHeader: String?, sentAt: Int64, receivedAt: Int64,
                                 tolerance: Int64 = clockToleranceMilliseconds) -> DoctorResult {
        let rule = "clock.skew"
        guard let dateHeader else { return .skip(rule, "\(source) sent no Date header; nothing to compare") }
        guard let server = HTTPDate.parse(dateHeader) else { return .skip(rule, "\(source) sent an unreadable Date header (\(dateHeader))") }
        let local = sentAt + (receivedAt - sentAt) / 2
        // Date is truncated to the second: the server's true time is in [server, server + 1000).
        let offset = server + 500 - local
        let seconds = Double(offset) / 1000
        let shown = (seconds >= 0 ? "+" : "") + String(format1(seconds))
        if abs(offset) > tolerance + 500 {
            return .fail(rule, "\(source): Venice's clock is \(shown) s from this machine's, beyond the \(tolerance / 1000) s a sign-in tolerates; "
                         + "sync this machine's clock (e.g. `timedatectl set-ntp true`, or chrony/ntpd)")
        }
        return .pass(rule, "\(source): Venice's clock is \(shown) s from this machine's (tolerance \(tolerance / 1000) s)")
    }

    /// `venice.models`: `GET /models` answered 200 with a non-empty `data` list.
    public static func models(status: Int, body: JSONValue?) -> DoctorResult {
        let rule = "venice.models"
        guard status == 200 else { return .fail(rule, "GET /models answered \(status); check the agent's --upstream and your network") }
        guard let list = body?["data"]?.arrayValue else { return .fail(rule, "GET /models answered 200 without a `data` list; is --upstream Venice's API (…/api/v1)?") }
        guard !list.isEmpty else { return .fail(rule, "GET /models answered an empty list") }
        return .pass(rule, "GET /models listed \(list.count) models")
    }

    /// `siwx.sign-in-accepted`: the wallet's balance route answered 200 through the agent.
    public static func signIn(status: Int, message: String?) -> DoctorResult {
        let rule = "siwx.sign-in-accepted"
        if status == 200 { return .pass(rule, "GET /x402/balance/me answered 200: Venice accepted the agent's sign-in") }
        if status == 423 { return .fail(rule, "the agent is locked; run `venice-agent unlock` and try again") }
        return .fail(rule, "GET /x402/balance/me answered \(status)\(message.map { ": \($0)" } ?? ""); check `venice-agent status` (clock offset) and the agent's log")
    }

    /// `venice.cf-ray`: every answer from Venice carries `CF-RAY` (api-docs `api-spec.mdx`: "Always").
    public static func cfRay(_ answers: [(label: String, headers: [(String, String)])]) -> DoctorResult {
        let rule = "venice.cf-ray"
        guard !answers.isEmpty else { return .skip(rule, "no answer from Venice to look at") }
        let missing = answers.filter { answer in !answer.headers.contains { $0.0.lowercased() == "cf-ray" } }.map(\.label)
        if !missing.isEmpty {
            return .fail(rule, "no CF-RAY on \(missing.joined(separator: ", ")); Venice documents it on every answer — is --upstream Venice, or does a proxy strip it?")
        }
        return .pass(rule, "CF-RAY on all \(answers.count) answers")
    }

    /// `venice.rate-limit-headers`: the documented `x-ratelimit-*-requests` trio on an authenticated answer.
    public static func rateLimit(_ answers: [(label: String, headers: [(String, String)])]) -> DoctorResult {
        let rule = "venice.rate-limit-headers"
        guard !answers.isEmpty else { return .skip(rule, "no authenticated answer to look at") }
        for answer in answers {
            let names = Set(answer.headers.map { $0.0.lowercased() })
            if rateLimitHeaders.allSatisfy(names.contains) {
                let values = rateLimitHeaders.map { name in "\(name)=\(answer.headers.first { $0.0.lowercased() == name }?.1 ?? "")" }
                return .pass(rule, "\(answer.label): \(values.joined(separator: " "))")
            }
        }
        let seen = Set(answers.flatMap { $0.headers.map { $0.0.lowercased() } }.filter { $0.hasPrefix("x-ratelimit") }).sorted()
        return .fail(rule, "no authenticated answer (\(answers.map(\.label).joined(separator: ", "))) carried \(rateLimitHeaders.joined(separator: ", "))"
                     + (seen.isEmpty ? "" : "; seen: \(seen.joined(separator: ", "))") + "; report it with the transcript (--transcript FILE)")
    }

    static func describe(_ error: FileStatus.Errno) -> String {
        if error == .noEntry { return "does not exist" }
        if error == .accessDenied { return "permission denied" }
        return String(cString: strerror(error.code))
    }

    static func format1(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        let sign = tenths < 0 ? "-" : ""
        return "\(sign)\(abs(tenths) / 10).\(abs(tenths) % 10)"
    }
}

