using Kneron.Quantization.Cli;

return KneronQuantCommand.Run(args, Console.Out, Console.Error);
