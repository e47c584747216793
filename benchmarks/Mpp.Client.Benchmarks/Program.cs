using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(Mpp.Client.Benchmarks.ProtocolBenchmarks).Assembly).Run(args);
