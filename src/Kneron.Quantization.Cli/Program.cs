using System.Runtime.InteropServices;
using Kneron.Quantization.Artifacts;
using Kneron.Quantization.Cli;

// Ctrl+C and SIGTERM end the process at once, as the runtime does by default, once the
// temporary files of artifacts being written are deleted. Artifacts are only moved into
// place whole, so an interrupted run leaves complete artifacts or none.
using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, _ => TemporaryFiles.DeleteAll());
using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ => TemporaryFiles.DeleteAll());

return KneronQuantCommand.Run(args, Console.Out, Console.Error);
