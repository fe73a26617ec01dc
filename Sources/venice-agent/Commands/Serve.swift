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

    @Option(help: "Keystore holding the wallet key.")
    var keystore: String

    @Option(help: "File with the keystore password. Without it the password is asked on the terminal; with neither the agent starts locked.")
    var passwordFile: String?

    @Option(help: "Unix socket path (default $XDG_RUNTIME_DIR/venice-agent/agent.sock).")
    var socket: String?

    @Option(help: "Venice base URL including /api/v1.")
    var upstream: String = AgentConfiguration.defaultUpstream

    @Option(help: "Folder for the agent's state.")
    var stateDir: String?

    @Option(help: "Lock the key after this long unused, e.g. 8h, 30m.")
    var lifetime: String?

    @Option(help: "Upstream requests in flight at once (Venice allows 5 per wallet).")
    var maxInFlight: Int = 5

    @Option(name: .customLong("topup-cap-usd"), help: "Largest single top-up in USD.")
    var topUpCapUSD: Double = 10

    @Option(name: .customLong("daily-cap-usd"), help: "Most the agent may top up per UTC day, in USD.")
    var dailyCapUSD: Double = 50

    @Flag(help: "Print VENICE_AGENT_SOCK=…; export VENICE_AGENT_SOCK; once the socket is ready.")
    var printEnv = false

    func validate() throws {
        if let lifetime, DurationParser.parse(lifetime) == nil {
            throw ValidationError("--lifetime \(lifetime) is not a duration; use e.g. 8h, 30m, 90s or 1h30m")
        }
        guard (1...64).contains(maxInFlight) else { throw ValidationError("--max-in-flight must be between 1 and 64") }
        guard topUpCapUSD >= 0, topUpCapUSD <= 10_000 else { throw ValidationError("--topup-cap-usd must be between 0 and 10000") }
        guard dailyCapUSD >= 0, dailyCapUSD <= 100_000 else { throw ValidationError("--daily-cap-usd must be between 0 and 100000") }
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
        var configuration = AgentConfiguration(
            keystorePath: keystore,
            socketPath: socket ?? AgentConfiguration.defaultSocketPath(environment: environment),
            upstream: upstream)
        configuration.stateDirectory = stateDir
        configuration.lifetime = lifetime.flatMap(DurationParser.parse)
        configuration.maxInFlight = maxInFlight
        configuration.topUpCapMicro = Int64((topUpCapUSD * 1_000_000).rounded())
        configuration.dailyTopUpCapMicro = Int64((dailyCapUSD * 1_000_000).rounded())

        let session: KeySession
        do {
            session = try KeySession(keystorePath: keystore, lifetime: configuration.lifetime)
        } catch {
            KeyCommands.printError(error.description)
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
        // Test seam (crash-safety tests only): stop the process dead at a point of the payment flow.
        let crashAt = environment["VENICE_AGENT_TEST_CRASH_AT"].flatMap(TopUpService.CrashPoint.init(rawValue:))
        let server = AgentServer(configuration: configuration, session: session, logger: logger) { point in
            if point == crashAt { kill(getpid(), SIGKILL) }
        }
        do {
            try await server.run {
                if printEnv {
                    var line = "VENICE_AGENT_SOCK=\(socketPath); export VENICE_AGENT_SOCK;\n"
                    line.withUTF8 { _ = write(1, $0.baseAddress, $0.count) }
                }
                logger.notice("listening", metadata: ["socket": "\(socketPath)", "address": "\(session.address)"])
            }
        } catch {
            KeyCommands.printError(String(describing: error))
            throw ExitCode.failure
        }
    }

    func unlock(_ session: KeySession, password: SecretBytes) async throws {
        do {
            try await session.unlock(password: password)
        } catch {
            KeyCommands.printError(error.description)
            throw ExitCode.failure
        }
    }
}
