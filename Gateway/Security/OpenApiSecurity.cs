using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace MitTts.Gateway.Security;

/// <summary>With auth on, the OpenAPI document says how to call the API: an <c>Authorization: Bearer</c> scheme (an access token from
/// <c>/api/v1/auth/token</c>, or an API key), required by every operation except those open to all (health, readiness, the token
/// endpoints), so generated clients and the <c>/docs</c> page send it.</summary>
public static class OpenApiSecurity
{
    /// <summary>The scheme's name in <c>components.securitySchemes</c>.</summary>
    public const string Scheme = "bearer";

    public static void Describe(OpenApiOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.AddDocumentTransformer((document, _, _) =>
        {
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes[Scheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                BearerFormat = "JWT",
                Description = "An access token from POST /api/v1/auth/token, or an API key.",
            };
            return Task.CompletedTask;
        });
        options.AddOperationTransformer((operation, context, _) =>
        {
            if (context.Description.ActionDescriptor.EndpointMetadata.Any(m => m is IAllowAnonymous))
            {
                return Task.CompletedTask;
            }

            operation.Security ??= [];
            operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(Scheme, context.Document)] = [] });
            operation.Responses ??= [];
            operation.Responses.TryAdd("401", new OpenApiResponse { Description = "No token or API key, or one that is not valid." });
            return Task.CompletedTask;
        });
    }
}
