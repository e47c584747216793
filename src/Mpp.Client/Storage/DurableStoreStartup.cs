using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Mpp.Client;

/// <summary>Nothing to configure: validating it at host start opens the durable stores, so a broken one fails start-up.</summary>
internal sealed class DurableStoreStartup;

internal sealed class DurableStoreStartupValidator(IServiceProvider services) : IValidateOptions<DurableStoreStartup>
{
    public ValidateOptionsResult Validate(string? name, DurableStoreStartup options)
    {
        try
        {
            _ = services.GetRequiredService<ISpendLedger>();
            _ = services.GetRequiredService<IPaymentJournal>();
            _ = services.GetRequiredService<IReceiptStore>();
            return ValidateOptionsResult.Success;
        }
        catch (PaymentStoreException ex)
        {
            return ValidateOptionsResult.Fail(ex.Message);
        }
    }
}
