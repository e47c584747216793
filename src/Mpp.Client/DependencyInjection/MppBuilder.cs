using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Mpp.Client;
using Mpp.Client.Stripe;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds payment methods, policies and stores to MppClient. Returned by <c>services.AddMpp()</c>.</summary>
public sealed class MppBuilder
{
    internal MppBuilder(IServiceCollection services) => Services = services;

    /// <summary>Gets the service collection.</summary>
    public IServiceCollection Services { get; }

    /// <summary>Registers a payment method (a singleton).</summary>
    /// <typeparam name="TMethod">The method type.</typeparam>
    /// <returns>This builder.</returns>
    public MppBuilder AddMethod<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TMethod>()
        where TMethod : class, IPaymentMethod
    {
        Services.TryAddEnumerable(ServiceDescriptor.Singleton<IPaymentMethod, TMethod>());
        return this;
    }

    /// <summary>Registers a payment method instance.</summary>
    /// <param name="method">The method.</param>
    /// <returns>This builder.</returns>
    public MppBuilder AddMethod(IPaymentMethod method)
    {
        ArgumentNullException.ThrowIfNull(method);
        Services.AddSingleton(method);
        return this;
    }

    /// <summary>Registers a policy that every payment of every client must pass (a singleton).</summary>
    /// <typeparam name="TPolicy">The policy type.</typeparam>
    /// <returns>This builder.</returns>
    public MppBuilder AddPolicy<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TPolicy>()
        where TPolicy : class, IPaymentPolicy
    {
        Services.TryAddEnumerable(ServiceDescriptor.Singleton<IPaymentPolicy, TPolicy>());
        return this;
    }

    /// <summary>Registers a policy instance.</summary>
    /// <param name="policy">The policy.</param>
    /// <returns>This builder.</returns>
    public MppBuilder AddPolicy(IPaymentPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        Services.AddSingleton(policy);
        return this;
    }

    /// <summary>Sets the approver asked about payments that need consent.</summary>
    /// <param name="approver">The approver.</param>
    /// <returns>This builder.</returns>
    public MppBuilder UseApprover(IPaymentApprover approver)
    {
        ArgumentNullException.ThrowIfNull(approver);
        Services.Replace(ServiceDescriptor.Singleton(approver));
        return this;
    }

    /// <summary>Sets the approver type asked about payments that need consent (a singleton).</summary>
    /// <typeparam name="TApprover">The approver type.</typeparam>
    /// <returns>This builder.</returns>
    public MppBuilder UseApprover<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TApprover>()
        where TApprover : class, IPaymentApprover
    {
        Services.Replace(ServiceDescriptor.Singleton<IPaymentApprover, TApprover>());
        return this;
    }

    /// <summary>Keeps the budget in a file shared by every process on this machine (instead of in memory).</summary>
    /// <param name="path">The ledger file.</param>
    /// <returns>This builder.</returns>
    public MppBuilder UseFileLedger(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Services.Replace(ServiceDescriptor.Singleton<ISpendLedger>(sp => new FileSpendLedger(path, sp.GetRequiredService<TimeProvider>())));
        return this;
    }

    /// <summary>Appends receipts to a JSON-lines file (instead of memory).</summary>
    /// <param name="path">The file.</param>
    /// <returns>This builder.</returns>
    public MppBuilder UseFileReceiptStore(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Services.Replace(ServiceDescriptor.Singleton<IReceiptStore>(sp => new JsonLinesReceiptStore(path, sp.GetRequiredService<TimeProvider>())));
        return this;
    }

    /// <summary>Writes the payment journal to a JSON-lines file (instead of memory), so unknown outcomes survive a crash.</summary>
    /// <param name="path">The file.</param>
    /// <returns>This builder.</returns>
    public MppBuilder UseFileJournal(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Services.Replace(ServiceDescriptor.Singleton<IPaymentJournal>(sp => new JsonLinesPaymentJournal(path, sp.GetRequiredService<TimeProvider>())));
        return this;
    }

    /// <summary>Adds the Stripe charge method, paying with Shared Payment Tokens your backend mints.</summary>
    /// <param name="tokenProvider">Mints the tokens.</param>
    /// <returns>This builder.</returns>
    public MppBuilder AddStripe(ISharedPaymentTokenProvider tokenProvider)
    {
        ArgumentNullException.ThrowIfNull(tokenProvider);
        Services.TryAddEnumerable(ServiceDescriptor.Singleton<IPaymentMethod, StripeChargeMethod>(sp => new StripeChargeMethod(tokenProvider, sp.GetRequiredService<TimeProvider>())));
        return this;
    }

    /// <summary>Adds the Stripe charge method with a token provider resolved from the container.</summary>
    /// <typeparam name="TProvider">The token provider type (registered as a singleton).</typeparam>
    /// <returns>This builder.</returns>
    public MppBuilder AddStripe<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TProvider>()
        where TProvider : class, ISharedPaymentTokenProvider
    {
        Services.TryAddSingleton<ISharedPaymentTokenProvider, TProvider>();
        Services.TryAddEnumerable(ServiceDescriptor.Singleton<IPaymentMethod, StripeChargeMethod>(sp => new StripeChargeMethod(sp.GetRequiredService<ISharedPaymentTokenProvider>(), sp.GetRequiredService<TimeProvider>())));
        return this;
    }
}
