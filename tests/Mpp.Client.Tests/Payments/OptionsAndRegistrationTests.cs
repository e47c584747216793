using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Mpp.Client.Tests.Payments;

public sealed class OptionsAndRegistrationTests
{
    private static OptionsValidationException? Validate(Action<MppPaymentOptions> configure)
    {
        var services = new ServiceCollection();
        services.AddHttpClient("tools").AddMppPayments(configure);
        using var provider = services.BuildServiceProvider();
        try
        {
            _ = provider.GetRequiredService<IOptionsMonitor<MppPaymentOptions>>().Get("tools");
            return null;
        }
        catch (OptionsValidationException ex)
        {
            return ex;
        }
    }

    [Test]
    public void A_client_without_a_budget_fails_at_start_up_with_a_fix()
    {
        var ex = Validate(_ => { });

        Assert.That(ex!.Message, Does.Contain("HttpClient 'tools'").And.Contain("Budget has no limits").And.Contain("o.Budget.Limit("));
    }

    [Test]
    public void A_dry_run_client_needs_no_budget()
    {
        Assert.That(Validate(o => o.DryRun = true), Is.Null);
    }

    [TestCase("MaxPaymentRounds")]
    [TestCase("asset")]
    [TestCase("decimals")]
    [TestCase("perRequest>total")]
    [TestCase("window")]
    [TestCase("preferred")]
    [TestCase("empty limit")]
    public void Invalid_settings_are_named_with_their_client(string what)
    {
        var ex = Validate(o =>
        {
            var limit = new BudgetLimitOptions { Asset = "fiat:usd", Decimals = 2, Total = 10m };
            switch (what)
            {
                case "MaxPaymentRounds": o.MaxPaymentRounds = 0; break;
                case "asset": limit.Asset = "USDC"; break;
                case "decimals": limit.PerRequest = 0.001m; break;
                case "perRequest>total": limit.PerRequest = 11m; break;
                case "window": limit.Windows.Add(new BudgetWindowOptions { Period = TimeSpan.FromDays(60), Max = 1m }); break;
                case "preferred": o.PreferredMethods.Add("a/b/c"); break;
                case "empty limit": limit.Total = null; break;
            }

            o.Budget.Limits.Add(limit);
        });

        Assert.That(ex, Is.Not.Null, what);
        Assert.That(ex!.Message, Does.Contain("HttpClient 'tools'"));
    }

    [Test]
    public void Options_bind_from_configuration_and_unknown_keys_are_errors()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Mpp:MaxPaymentRounds"] = "2",
            ["Mpp:AllowedHosts:0"] = "api.example.com",
            ["Mpp:Budget:Limits:0:Asset"] = "fiat:usd",
            ["Mpp:Budget:Limits:0:Decimals"] = "2",
            ["Mpp:Budget:Limits:0:PerRequest"] = "0.50",
            ["Mpp:Budget:Limits:0:Total"] = "10",
            ["Mpp:Budget:Limits:0:Windows:0:Period"] = "01:00:00",
            ["Mpp:Budget:Limits:0:Windows:0:Max"] = "2",
        }).Build();
        var services = new ServiceCollection();
        services.AddHttpClient("tools").AddMppPayments(configuration.GetSection("Mpp"));
        using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptionsMonitor<MppPaymentOptions>>().Get("tools");
        var limit = options.Budget.Find(FiatAssets.Usd.Id)!;

        Assert.That(options.MaxPaymentRounds, Is.EqualTo(2));
        Assert.That(options.AllowedHosts, Is.EqualTo(new[] { "api.example.com" }));
        Assert.That((limit.PerRequest, limit.Total, limit.Windows.Single()), Is.EqualTo(((System.Numerics.BigInteger?)50, (System.Numerics.BigInteger?)1000, new SpendWindow(TimeSpan.FromHours(1), 200))));

        var bad = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Mpp:MaxPaymentRoundz"] = "2" }).Build();
        var badServices = new ServiceCollection();
        badServices.AddHttpClient("tools").AddMppPayments(bad.GetSection("Mpp"));
        using var badProvider = badServices.BuildServiceProvider();
        Assert.Throws<InvalidOperationException>(() => badProvider.GetRequiredService<IOptionsMonitor<MppPaymentOptions>>().Get("tools"));
    }

    [Test]
    public void A_missing_configuration_section_is_refused_at_registration()
    {
        var configuration = new ConfigurationBuilder().Build();
        var services = new ServiceCollection();

        Assert.Throws<PaymentConfigurationException>(() => services.AddHttpClient("tools").AddMppPayments(configuration.GetSection("Nope")));
    }

    [Test]
    public void Each_named_client_has_its_own_options_and_the_core_is_registered_once()
    {
        var services = new ServiceCollection();
        services.AddMpp();
        services.AddHttpClient("a").AddMppPayments(o => o.Budget.Limit(FiatAssets.Usd, total: 1m));
        services.AddHttpClient("b").AddMppPayments(o => o.Budget.Limit(FiatAssets.Eur, total: 2m));
        services.AddMpp();
        using var provider = services.BuildServiceProvider();
        var monitor = provider.GetRequiredService<IOptionsMonitor<MppPaymentOptions>>();

        Assert.That(monitor.Get("a").Budget.Find(FiatAssets.Usd.Id), Is.Not.Null);
        Assert.That(monitor.Get("a").Budget.Find(FiatAssets.Eur.Id), Is.Null);
        Assert.That(monitor.Get("b").Budget.Find(FiatAssets.Eur.Id), Is.Not.Null);
        Assert.That(services.Count(d => d.ServiceType == typeof(ISpendLedger)), Is.EqualTo(1));
        Assert.That(services.Count(d => d.ServiceType == typeof(IValidateOptions<MppPaymentOptions>)), Is.EqualTo(1));
    }

    [Test]
    public void Durable_stores_replace_the_in_memory_ones()
    {
        var path = Path.Combine(Path.GetTempPath(), "mpp-di-" + Guid.NewGuid().ToString("N"), "mpp.db");
        var services = new ServiceCollection();
        services.AddMpp().UseSqlite(path);
        using var provider = services.BuildServiceProvider();

        Assert.That(provider.GetRequiredService<ISpendLedger>(), Is.InstanceOf<SqliteSpendLedger>());
        Assert.That(provider.GetRequiredService<IPaymentJournal>(), Is.InstanceOf<SqlitePaymentJournal>());
        Assert.That(provider.GetRequiredService<IReceiptStore>(), Is.InstanceOf<SqliteReceiptStore>());
        Assert.That(provider.GetRequiredService<MppSqliteDatabase>().Path, Is.EqualTo(path), "one file for all three");
    }

    [Test]
    public void Decimal_amounts_convert_through_the_assets_decimals()
    {
        Assert.That(FiatAssets.Usd.ToAtomic(0.05m), Is.EqualTo(new System.Numerics.BigInteger(5)));
        Assert.That(FiatAssets.Usd.Format(1234), Is.EqualTo("12.34 USD"));
        Assert.Throws<ArgumentOutOfRangeException>(() => FiatAssets.Usd.ToAtomic(0.001m));
        Assert.That(AssetId.Parse("eip155:1337/0x20C0000000000000000000000000000000000000").ToString(), Is.EqualTo("eip155:1337/0x20c0000000000000000000000000000000000000"));
        Assert.That(AssetId.TryParse("USDC", out _), Is.False);
    }
}
