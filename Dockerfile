# Cairn member image: build with the SDK, run on the ASP.NET runtime (Kestrel is in it).
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY Directory.Build.props .editorconfig ./
COPY src/ src/
RUN dotnet publish src/Node/Cairn.Node.csproj -c Release -o /app -nologo

FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app .
# Kestrel listens where --listen-client-urls says, not on the image's default port.
ENV ASPNETCORE_HTTP_PORTS=
VOLUME /data
EXPOSE 2379 2380
# etcd's own flags; with none, a single member on 0.0.0.0:2379 keeping its data in /data.
ENTRYPOINT ["dotnet", "/app/cairn.dll"]
CMD ["--data-dir", "/data", "--listen-client-urls", "http://0.0.0.0:2379", "--advertise-client-urls", "http://127.0.0.1:2379", "--listen-peer-urls", "http://0.0.0.0:2380"]
HEALTHCHECK --interval=2s --timeout=3s --retries=15 CMD ["dotnet", "/app/cairn.dll", "healthcheck", "http://127.0.0.1:2379"]
