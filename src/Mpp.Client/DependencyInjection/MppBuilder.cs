using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
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

    /// <summary>
    /// Keeps the budget ledger, the payment journal and the receipts in one SQLite file (instead of memory), shared safely by
    /// the processes of this machine; <c>AddTempoSessions()</c> keeps its channels there too. The file is opened, checked and
    /// migrated when the host starts (a damaged or foreign file fails start-up with a <see cref="PaymentStoreException"/>).
    /// </summary>
    /// <param name="path">The database file, e.g. <c>/var/lib/agent/mpp.db</c>.</param>
    /// <returns>This builder.</returns>
    public MppBuilder UseSqlite(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return UseSqlite(o => o.Path = path);
    }

    /// <summary>Keeps the ledger, journal and receipts (and Tempo session channels) in one SQLite file, configured in full.</summary>
    /// <param name="configure">Sets the path and the durability options; validated here.</param>
    /// <returns>This builder.</returns>
    public MppBuilder UseSqlite(Action<SqliteStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        var options = new SqliteStoreOptions();
        configure(options);
        if (string.IsNullOrWhiteSpace(options.Path) || options.BusyTimeout <= TimeSpan.Zero)
        {
            throw new PaymentConfigurationException("UseSqlite: Path is required and BusyTimeout must be positive.");
        }

        Services.Replace(ServiceDescriptor.Singleton(sp => MppSqliteDatabase.Open(options, sp.GetRequiredService<TimeProvider>())));
        return UseStores(
            sp => new SqliteSpendLedger(sp.GetRequiredService<MppSqliteDatabase>()),
            sp => new SqlitePaymentJournal(sp.GetRequiredService<MppSqliteDatabase>()),
            sp => new SqliteReceiptStore(sp.GetRequiredService<MppSqliteDatabase>()));
    }

    /// <summary>
    /// Replaces the ledger, journal and receipt store together (what <see cref="UseSqlite(string)"/> and <c>UsePostgres</c> do),
    /// and opens them when the host starts, so an unusable store fails start-up rather than the first payment.
    /// </summary>
    /// <param name="ledger">Creates the ledger.</param>
    /// <param name="journal">Creates the journal.</param>
    /// <param name="receipts">Creates the receipt store.</param>
    /// <returns>This builder.</returns>
    public MppBuilder UseStores(Func<IServiceProvider, ISpendLedger> ledger, Func<IServiceProvider, IPaymentJournal> journal, Func<IServiceProvider, IReceiptStore> receipts)
    {
        ArgumentNullException.ThrowIfNull(ledger);
        ArgumentNullException.ThrowIfNull(journal);
        ArgumentNullException.ThrowIfNull(receipts);
        Services.Replace(ServiceDescriptor.Singleton(ledger));
        Services.Replace(ServiceDescriptor.Singleton(journal));
        Services.Replace(ServiceDescriptor.Singleton(receipts));
        Services.AddOptions<DurableStoreStartup>().ValidateOnStart();
        Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DurableStoreStartup>, DurableStoreStartupValidator>());
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
