import AgentCore
import ArgumentParser
import Foundation
import Logging
import WalletCrypto

/// `venice-agent serve`: the daemon.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the agent: hold the unlocked key and serve Venice to local programs over a Unix socket."
    )

    @Option(help: "Keystore holding the wallet key (or `keystore` in the config file).")
    var keystore: String?

    @Option(help: "TOML config file (default ~/.config/venice-agent/config.toml when it exists). Flags win over it.")
    var config: String?

    @Option(help: "File with the keystore password. Without it the password is asked on the terminal; with neither the agent starts locked.")
    var passwordFile: String?

    @Option(help: "Unix socket path (default $XDG_RUNTIME_DIR/venice-agent/agent.sock).")
    var socket: String?

    @Option(help: "Also listen on loopback TCP for OpenAI-compatible apps (client tokens only): 127.0.0.1:PORT, [::1]:PORT or localhost:PORT; port 0 picks a free one. Never a network address.")
    var listen: String?

    @Option(help: "Venice base URL including /api/v1 (default https://api.venice.ai/api/v1).")
    var upstream: String?

    @Option(help: "Folder for the agent's state.")
    var stateDir: String?

    @Option(help: "Lock the key after this long unused, e.g. 8h, 30m.")
    var lifetime: String?

    @Option(help: "Upstream requests in flight at once (default 5, Venice's limit per wallet).")
    var maxInFlight: Int?

    @Option(name: .customLong("topup-cap-usd"), help: "Largest single top-up in USD (default 10).")
    var topUpCapUSD: Double?

    @Option(name: .customLong("daily-cap-usd"), help: "Most the agent may top up per UTC day, in USD (default 50).")
    var dailyCapUSD: Double?

    @Flag(name: .customLong("auto-topup"), help: "On a 402 insufficient-balance answer, top up once within the caps and retry once.")
    var autoTopUp = false

    @Flag(help: "Run in the background (new session, detached from the terminal) once the socket is ready; with --print-env: eval \"$(venice-agent serve --daemonize --print-env)\". Without --password-file it starts locked.")
    var daemonize = false

    @Option(help: "With --daemonize: append the agent's log here (default: discarded).")
    var logFile: String?

    @Flag(help: "Print VENICE_AGENT_SOCK=…; export VENICE_AGENT_SOCK; once the socket is ready.")
    var printEnv = false

    func validate() throws {
        if let lifetime, DurationParser.parse(lifetime) == nil {
            throw ValidationError("--lifetime \(lifetime) is not a duration; use e.g. 8h, 30m, 90s or 1h30m")
        }
        if let listen {
            do { _ = try LoopbackAddress(parsing: listen) } catch { throw ValidationError("--listen: \(error.description)") }
        }
        if let maxInFlight, !(1...64).contains(maxInFlight) { throw ValidationError("--max-in-flight must be between 1 and 64") }
        if let topUpCapUSD, !(0...10_000).contains(topUpCapUSD) { throw ValidationError("--topup-cap-usd must be between 0 and 10000") }
        if let dailyCapUSD, !(0...100_000).contains(dailyCapUSD) { throw ValidationError("--daily-cap-usd must be between 0 and 100000") }
    }

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
            return handler
        }
        let logger = Logger(label: "venice-agent")
        if !AgentServer.hardenProcess() {
            logger.warning("could not make the process non-dumpable; core dumps may contain the key")
        }
        let environment = ProcessInfo.processInfo.environment
        var file: ConfigFile?
        do {
            if let config {
                file = try ConfigFile.load(path: config)
            } else if FileManager.default.fileExists(atPath: ConfigFile.defaultPath(environment: environment)) {
                file = try ConfigFile.load(path: ConfigFile.defaultPath(environment: environment))
            }
        } catch {
            KeyCommands.printError(String(describing: error))
            throw ExitCode.failure
        }
        guard let keystore = keystore ?? file?.keystore.map(ConfigFile.expand) else {
            KeyCommands.printError("no keystore given; pass --keystore FILE or set keystore in the config file (create one with venice-agent key new)")
            throw ExitCode.failure
        }
        var configuration = AgentConfiguration(
            keystorePath: keystore, socketPath: AgentConfiguration.defaultSocketPath(environment: environment))
        do { try file?.apply(to: &configuration) } catch {
            KeyCommands.printError(String(describing: error))
            throw ExitCode.failure
        }
        if let socket { configuration.socketPath = socket }
        if let listen { configuration.listen = try? LoopbackAddress(parsing: listen) }
        // systemd socket activation: serve the sockets it passed (their own path and port win).
        do {
            if let activation = try SocketActivation.inherited(environment: environment) {
                configuration.activation = activation
                if let unix = activation.unix {
                    configuration.socketPath = unix.address
                    // systemd's default SocketMode is 0666: unless other uids are allowed, only the owner may connect.
                    if configuration.allowedUIDs.isEmpty, case .success(let status) = FileStatus.of(unix.address, followingLinks: false),
                       status.permissions & 0o077 != 0 {
                        KeyCommands.printError("the socket systemd passed (\(unix.address)) is open to other users (mode \(String(status.permissions & 0o777, radix: 8))); set SocketMode=0600 in the .socket unit, or allowed_uids in the config")
                        throw ExitCode.failure
                    }
                }
                if let tcp = activation.tcp { configuration.listen = tcp.address }
            }
        } catch let error as SocketActivation.Invalid {
            KeyCommands.printError(error.description)
            throw ExitCode.failure
        }
        SocketActivation.clearEnvironment()
        if let upstream { configuration.upstream = upstream }
        if let stateDir { configuration.stateDirectory = stateDir }
        if let lifetime { configuration.lifetime = DurationParser.parse(lifetime) }
        if let maxInFlight { configuration.maxInFlight = maxInFlight }
        do {
            if let topUpCapUSD { configuration.topUpCapMicro = try ConfigFile.micro(topUpCapUSD, "--topup-cap-usd") }
            if let dailyCapUSD { configuration.dailyTopUpCapMicro = try ConfigFile.micro(dailyCapUSD, "--daily-cap-usd") }
        } catch {
            KeyCommands.printError(String(describing: error))
            throw ExitCode.failure
        }
        if autoTopUp { configuration.autoTopUp = true }

        if daemonize {
            // The child gets the same command without --daemonize/--print-env, and an explicit socket.
            var childArguments: [String] = []
            var skipNext = false
            for argument in CommandLine.arguments.dropFirst() {
                if skipNext { skipNext = false; continue }
                if argument == "--daemonize" || argument == "--print-env" { continue }
                if argument == "--log-file" || argument == "--socket" { skipNext = true; continue }
                if argument.hasPrefix("--log-file=") || argument.hasPrefix("--socket=") { continue }
                childArguments.append(argument)
            }
            childArguments += ["--socket", configuration.socketPath]
            do {
                let pid = try Daemonizer.spawnDetached(arguments: childArguments, socketPath: configuration.socketPath, logFile: logFile)
                if printEnv {
                    print("VENICE_AGENT_SOCK=\(configuration.socketPath); export VENICE_AGENT_SOCK;")
                    print("VENICE_AGENT_PID=\(pid); export VENICE_AGENT_PID;")
                    if configuration.listen != nil, let url = await Self.listenURL(socketPath: configuration.socketPath) {
                        print("VENICE_AGENT_URL=\(url); export VENICE_AGENT_URL;")
                    }
                    print("echo Agent pid \(pid);")
                }
            } catch {
                KeyCommands.printError(String(describing: error))
                throw ExitCode.failure
            }
            return
        }

        let session: KeySession
        do {
            session = try KeySession(keystorePath: configuration.keystorePath, lifetime: configuration.lifetime)
        } catch {
            KeyCommands.printError(String(describing: error))
            throw ExitCode.failure
        }
        if configuration.upstreamIsRealVenice, AgentConfiguration.isPubliclyKnown(session.address) {
            KeyCommands.printError("\(session.address) is a publicly known test key; it is refused against the real Venice API (use --upstream for a simulator)")
            throw ExitCode.failure
        }
        if !configuration.upstreamIsRealVenice {
            logger.warning("upstream is \(configuration.upstream), not Venice's API")
        }
        if let passwordFile {
            try await unlock(session, password: SecureFile.readPassword(passwordFile))
        } else if isatty(0) == 1, let password = TerminalPrompt.readSecret(prompt: "Password for \(session.address): ") {
            try await unlock(session, password: password)
        } else {
            logger.notice("starting locked; unlock with `venice-agent unlock`")
        }
        let socketPath = configuration.socketPath
        let printEnv = self.printEnv
        let server = AgentServer(configuration: configuration, session: session, logger: logger, crashHook: Self.crashHook(environment))
        let listener = server.listener
        do {
            try await server.run {
                if printEnv {
                    var lines = "VENICE_AGENT_SOCK=\(socketPath); export VENICE_AGENT_SOCK;\n"
                    if let bound = listener.value { lines += "VENICE_AGENT_URL=\(bound.url); export VENICE_AGENT_URL;\n" }
                    lines.withUTF8 { _ = write(1, $0.baseAddress, $0.count) }
                }
                logger.notice("listening", metadata: ["socket": "\(socketPath)", "address": "\(session.address)"])
            }
        } catch {
            KeyCommands.printError(String(describing: error))
            throw ExitCode.failure
        }
    }

    /// The detached agent's TCP listener as `http://HOST:PORT`, read from its status (the port
    /// may be the kernel's pick); nil when it does not say within 10 s.
    static func listenURL(socketPath: String) async -> String? {
        let client = AgentClient(socketPath: socketPath)
        for _ in 0..<100 {
            if let response = try? await client.call(.GET, "/agent/v1/status", timeoutSeconds: 5),
               let listen = (try? ClientCommands.object(response))?["listen"]?.stringValue {
                return "http://" + listen
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return nil
    }

    func unlock(_ session: KeySession, password: SecretBytes) async throws {
        do {
            try await session.unlock(password: password)
        } catch {
            KeyCommands.printError(error.message)
            throw ExitCode.failure
        }
    }

    #if VENICE_TEST_SEAMS
    /// Test seam, compiled into debug builds only (the crash-safety tests): stop the process dead
    /// at a point of the payment flow named by `VENICE_AGENT_TEST_CRASH_AT`.
    static func crashHook(_ environment: [String: String]) -> @Sendable (TopUpService.CrashPoint) -> Void {
        let crashAt = environment["VENICE_AGENT_TEST_CRASH_AT"].flatMap(TopUpService.CrashPoint.init(rawValue:))
        return { point in if point == crashAt { kill(getpid(), SIGKILL) } }
    }
    #else
    static func crashHook(_ environment: [String: String]) -> @Sendable (TopUpService.CrashPoint) -> Void { { _ in } }
    #endif
}
