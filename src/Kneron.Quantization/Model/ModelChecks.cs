using Kneron.Quantization.Diagnostics;
using Onnx;

namespace Kneron.Quantization.Model;

/// <summary>
/// Checks on the loaded graph that turn models the analysis cannot handle
/// into coded errors before ONNX Runtime or the planner meet them.
/// </summary>
public static class ModelChecks
{
    /// <summary>
    /// Operator domains ONNX Runtime's CPU build runs: the standard ONNX domains and
    /// Microsoft's contrib operators. <c>ai.onnx.preview.training</c> is left out,
    /// as only training builds of ONNX Runtime have it.
    /// </summary>
    private static readonly HashSet<string> RunnableDomains = new(StringComparer.Ordinal) { "", "ai.onnx", "ai.onnx.ml", "com.microsoft" };

    /// <summary>Rejects a node whose domain is neither runnable nor a function defined in the model.</summary>
    public static void RejectUnknownDomains(OnnxGraph graph)
    {
        var functions = graph.Model.Functions.Select(f => (f.Domain, f.Name)).ToHashSet();
        foreach (var node in graph.Graph.Node)
        {
            if (RunnableDomains.Contains(node.Domain) || functions.Contains((node.Domain, node.OpType)))
            {
                continue;
            }

            throw new KnqException(ModelCodes.UnsupportedOperatorDomain, new SourceLocation(graph.Path),
                $"Node '{OnnxGraph.DisplayName(node)}' uses operator '{node.OpType}' of domain '{node.Domain}', which neither ONNX Runtime nor Kneron's NPU runs. "
                + "Export the model with standard ONNX operators, or replace the operator before quantizing.");
        }
    }

    /// <summary>
    /// Renames the second and later nodes of a repeated name to <c>name_2</c>, <c>name_3</c>, …
    /// in the in-memory graph (the file is not changed), so layer tables and the quantized model
    /// name each node once; warns once per repeated name. Unnamed nodes stay unnamed.
    /// </summary>
    public static void MakeNodeNamesUnique(OnnxGraph graph, IDiagnosticSink diagnostics)
    {
        var taken = graph.Graph.Node.Select(n => n.Name).Where(n => n.Length > 0).ToHashSet(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var renamed = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var node in graph.Graph.Node.Where(n => n.Name.Length > 0))
        {
            if (seen.Add(node.Name))
            {
                continue;
            }

            var original = node.Name;
            var candidate = original;
            for (int i = 2; taken.Contains(candidate); i++)
            {
                candidate = $"{original}_{i}";
            }

            taken.Add(candidate);
            node.Name = candidate;
            if (!renamed.TryGetValue(original, out var list))
            {
                renamed[original] = list = new List<string>();
            }

            list.Add(candidate);
        }

        foreach (var (original, names) in renamed)
        {
            diagnostics.Report(new Diagnostic(ModelCodes.DuplicateNodeName, DiagnosticSeverity.Warning, new SourceLocation(graph.Path),
                $"Node name '{original}' is used by {names.Count + 1} nodes; the report and the quantized model call the others {string.Join(", ", names.Select(n => $"'{n}'"))}. Give each node its own name to keep the names stable."));
        }
    }

    /// <summary>
    /// Warns once about the model's control-flow nodes (If, Loop, Scan, and any other node with
    /// a subgraph). Kneron's NPU does not run control flow, so they are CPU nodes, and the analysis
    /// leaves their subgraphs float: only the tensors entering and leaving the node are quantized,
    /// and no layer inside is measured.
    /// </summary>
    public static void WarnAboutControlFlow(OnnxGraph graph, IDiagnosticSink diagnostics)
    {
        const int listedNodes = 5;
        var nodes = graph.Graph.Node.Where(Subgraphs.HasSubgraphs).ToList();
        if (nodes.Count == 0)
        {
            return;
        }

        var listed = string.Join(", ", nodes.Take(listedNodes).Select(n => $"'{OnnxGraph.DisplayName(n)}' ({n.OpType})"));
        if (nodes.Count > listedNodes)
        {
            listed += $" and {nodes.Count - listedNodes} more";
        }

        int bodyNodes = nodes.Sum(CountSubgraphNodes);
        diagnostics.Report(new Diagnostic(ModelCodes.ControlFlowBodyFloat, DiagnosticSeverity.Warning, new SourceLocation(graph.Path),
            $"Control-flow {(nodes.Count == 1 ? "node" : "nodes")} {listed} {(nodes.Count == 1 ? "runs" : "run")} on the CPU, because Kneron's NPU does not run control flow. "
            + $"The subgraphs ({bodyNodes} nodes) stay float: they are neither quantized nor measured per layer, and only the tensors entering and leaving them are quantized. "
            + "If the bodies do much of the work, export the model with the control flow unrolled or moved out of the network."));
    }

    private static int CountSubgraphNodes(NodeProto node) =>
        Subgraphs.Of(node).Sum(graph => graph.Node.Count + graph.Node.Sum(CountSubgraphNodes));

    /// <summary>Rejects a model with no inputs: every tensor is a constant, so there is nothing to calibrate or quantize.</summary>
    public static void RequireInputs(OnnxGraph graph)
    {
        if (!graph.RealInputs.Any())
        {
            throw new KnqException(ModelCodes.NothingToQuantize, new SourceLocation(graph.Path),
                $"'{System.IO.Path.GetFileName(graph.Path)}' has no inputs, so every tensor is a constant and there is nothing to quantize. Check that the export kept the model's inputs.");
        }
    }

    /// <summary>Rejects a model in which no float tensor depends on an input (an integer-only model).</summary>
    public static void RequireQuantizableTensors(OnnxGraph graph, int activationCount)
    {
        if (activationCount == 0)
        {
            throw new KnqException(ModelCodes.NothingToQuantize, new SourceLocation(graph.Path),
                $"No float32 tensor of '{System.IO.Path.GetFileName(graph.Path)}' depends on its inputs, so there is nothing to quantize. "
                + "Quantization applies to float32 models; an integer-only model runs as it is.");
        }
    }
}
