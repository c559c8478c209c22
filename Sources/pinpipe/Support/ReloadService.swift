import Logging
import PipelineConfig
import ServiceLifecycle
import Systemd
import UnixSignals

/// SIGHUP (`systemctl reload pinpipe`) re-reads the configuration file and applies its log level; other changes
/// need a restart. systemd hears `RELOADING=1` with `MONOTONIC_USEC=` before and `READY=1` after.
struct ReloadService: Service {
    let configFile: String
    let logger: Logger

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            SystemdNotifier.notify([.reloading, .monotonicNow])
            do {
                let reloaded = try PinpipeConfiguration.load(file: configFile)
                Bootstrap.logLevel.level = Logger.Level(reloaded.logging.level)
                logger.notice("SIGHUP: log level is now \(reloaded.logging.level.rawValue); other changes need a restart")
            } catch {
                logger.error("SIGHUP: configuration not reloaded (the running one stays in force): \(error)")
            }
            SystemdNotifier.notify([.ready])
        }
    }
}
